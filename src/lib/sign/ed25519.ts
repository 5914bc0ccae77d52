/**
 * Ed25519 (RFC 8032 §5.1, "pure" Ed25519, no context) in plain bytecode, for a device with no
 * asymmetric crypto: public-key derivation from a 32-byte seed (§5.1.5) and signing (§5.1.6), as
 * async functions that suspend between bounded steps, so a DeviceScript fiber yields in time (it
 * dies after 131,071 ops without one). Pure: no `@devicescript` import; the caller says how to
 * suspend:
 *
 *     const signature = await signWith(seed, publicKey, message, async () => await ds.sleep(0))
 *
 * Between two suspensions run units of work (20 SHA-512 rounds, a point addition, a run of
 * squarings...) whose measured op costs sum to at most STEP_OPS (or the `stepOps` given).
 * Verification is not implemented (the device only signs; the Node tools verify with node:crypto).
 *
 * Secrets: the functions overwrite their copies of the expanded secret, the nonce and the
 * intermediate points when they finish; the caller owns (and wipes) the seed. The code is not
 * constant time in the strict sense (table reads are indexed by secret digits; see docs/SIGNING.md).
 */
import { BaseMultiplier } from "./edwards"
import { Spend } from "./field"
import { mulAddModL, reduceModL } from "./scalar"
import { sha512Metered } from "./sha512"

/** Bytes of a seed (the RFC 8032 private key). */
export const SEED_BYTES = 32
/** Bytes of a public key. */
export const PUBLIC_KEY_BYTES = 32
/** Bytes of a signature: R || S. */
export const SIGNATURE_BYTES = 64

/**
 * Default op budget of one step: far under the 131,071-op fiber limit, and short in wall time
 * (10 - 16 ms at most in the simulator; an estimated 22 - 65 ms on an ESP32-C3, docs/SIGNING.md).
 */
export const STEP_OPS = 30000
/** Op cost of the largest unit of work (a doubling, edwards.ts DOUBLE_OPS): a smaller step budget could not progress. */
export const MIN_STEP_OPS = 29000
/**
 * Op cost of one SHA-512 step (ROUNDS_PER_STEP rounds): the first of a block, which also pads and
 * loads it, measured 12,700 with test/harness/sign-device.ts; a whole block 43,300.
 */
export const SHA512_STEP_OPS = 13000
/** Op cost of reducing a 64-byte hash mod L (14,200 measured). */
export const REDUCE_OPS = 15500
/** Op cost of (r + k s) mod L (23,475 measured). */
export const MULADD_OPS = 25000

function checkLength(b: Buffer, length: number, what: string) {
    if (!b || b.length !== length) throw new RangeError(what + " must be " + length + " bytes")
}

function checkStepOps(stepOps: number): number {
    if (stepOps === undefined) return STEP_OPS
    if (!(stepOps >= MIN_STEP_OPS)) throw new RangeError("stepOps must be at least " + MIN_STEP_OPS)
    return stepOps
}

function copyOf(b: Buffer, offset: number, length: number): Buffer {
    const out = Buffer.alloc(length)
    for (let i = 0; i < length; i++) out[i] = b[offset + i]
    return out
}

function wipeBytes(b: Buffer) {
    for (let i = 0; i < b.length; i++) b[i] = 0
}

/** a || b || c in a new buffer (the hash inputs of §5.1.6). */
function join3(a: Buffer, b: Buffer, c: Buffer): Buffer {
    const out = Buffer.alloc(a.length + b.length + c.length)
    out.set(a, 0)
    out.set(b, a.length)
    out.set(c, a.length + b.length)
    return out
}

/** The secret scalar s of §5.1.5 step 2: the first half of SHA-512(seed), pruned. */
function clampedScalar(digest: Buffer): Buffer {
    const s = copyOf(digest, 0, 32)
    s[0] &= 248
    s[31] &= 127
    s[31] |= 64
    return s
}

/**
 * Suspends the caller between two bounded steps (on the device `() => ds.sleep(0)`, which starts
 * the fiber's op budget anew); on Node a no-op.
 */
export type Pause = () => Promise<void>

/** A Spend over steps of `stepOps` (default STEP_OPS, at least MIN_STEP_OPS), `pause` between them. */
function meter(pause: Pause, stepOps?: number): Spend {
    const step = checkStepOps(stepOps)
    let left = 0
    return async (ops: number) => {
        if (left < ops) {
            await pause()
            left = step
        }
        left -= ops
    }
}

/** encode(a * B) in metered steps; the multiplier's registers wiped. */
async function multiplied(spend: Spend, a: Buffer): Promise<Buffer> {
    const mul = new BaseMultiplier()
    const point = await mul.multiply(a, spend)
    mul.wipe()
    return point
}

/**
 * The public key of a 32-byte seed (RFC 8032 §5.1.5): s = pruned first half of SHA-512(seed),
 * A = encode(s * B). `pause` between steps of `stepOps` (default STEP_OPS).
 */
export async function publicKeyOf(seed: Buffer, pause: Pause, stepOps?: number): Promise<Buffer> {
    checkLength(seed, SEED_BYTES, "seed")
    const spend = meter(pause, stepOps)
    const digest = await sha512Metered(seed, spend, SHA512_STEP_OPS)
    const s = clampedScalar(digest)
    wipeBytes(digest)
    const key = await multiplied(spend, s)
    wipeBytes(s)
    return key
}

/**
 * The signature R || S (64 bytes) of `message` under (seed, publicKey) (RFC 8032 §5.1.6). `publicKey`
 * must be the one derived from `seed` (keep them together): signing one message under two
 * different public keys with the same seed reveals the secret scalar. `message` must not change
 * until it resolves (it is read, not copied). `pause` between steps as for publicKeyOf.
 */
export async function signWith(seed: Buffer, publicKey: Buffer, message: Buffer, pause: Pause, stepOps?: number): Promise<Buffer> {
    checkLength(seed, SEED_BYTES, "seed")
    checkLength(publicKey, PUBLIC_KEY_BYTES, "public key")
    const spend = meter(pause, stepOps)
    const digest = await sha512Metered(seed, spend, SHA512_STEP_OPS)
    const s = clampedScalar(digest)
    // prefix || M holds the secret prefix: wiped once hashed
    const prefixed = join3(copyOf(digest, 32, 32), message, Buffer.alloc(0))
    wipeBytes(digest)
    const rHash = await sha512Metered(prefixed, spend, SHA512_STEP_OPS)
    wipeBytes(prefixed)
    await spend(REDUCE_OPS)
    const r = reduceModL(rHash, 0, 64)
    wipeBytes(rHash)
    const R = await multiplied(spend, r)
    const kHash = await sha512Metered(join3(R, publicKey, message), spend, SHA512_STEP_OPS)
    await spend(REDUCE_OPS)
    const k = reduceModL(kHash, 0, 64)
    await spend(MULADD_OPS)
    const S = mulAddModL(r, k, s)
    wipeBytes(r)
    wipeBytes(s)
    return join3(R, S, Buffer.alloc(0))
}

/** No suspension: Node, where nothing limits a run. */
const NO_PAUSE: Pause = async () => {}

/** The public key of `seed` (Node, tests). */
export async function publicKeyFromSeed(seed: Buffer): Promise<Buffer> {
    return await publicKeyOf(seed, NO_PAUSE)
}

/** The signature of `message` (Node, tests). */
export async function sign(seed: Buffer, publicKey: Buffer, message: Buffer): Promise<Buffer> {
    return await signWith(seed, publicKey, message, NO_PAUSE)
}
