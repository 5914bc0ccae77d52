/**
 * Ed25519 (RFC 8032 §5.1, "pure" Ed25519, no context) in plain bytecode, for a device with no
 * asymmetric crypto: public-key derivation from a 32-byte seed (§5.1.5) and signing (§5.1.6), as
 * step-wise jobs, so a DeviceScript fiber can yield between steps (a fiber dies after 131,071 ops
 * without a yield). Pure: no `@devicescript` import; the caller yields:
 *
 *     const job = new SignJob(seed, publicKey, message)
 *     while (!job.step()) await ds.sleep(0)
 *     const signature = job.signature()
 *
 * Each `step()` runs units of work (20 SHA-512 rounds, a point addition, a few squarings...) whose
 * measured op costs sum to at most STEP_OPS (or the budget given to the constructor).
 * Verification is not implemented (the device only signs; the Node tools verify with node:crypto).
 *
 * Secrets: the jobs overwrite their copies of the expanded secret, the nonce and the intermediate
 * points when they finish; the caller owns (and wipes) the seed. The code is not constant time in
 * the strict sense (table reads are indexed by secret digits; see docs/SIGNING.md).
 */
import { BaseMultiplier } from "./edwards"
import { mulAddModL, reduceModL } from "./scalar"
import { Sha512Job } from "./sha512"

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
 * Derives the public key of a 32-byte seed (RFC 8032 §5.1.5): s = pruned first half of
 * SHA-512(seed), A = encode(s * B). 52 steps at the default budget; 1.34 M ops in all (metered).
 */
export class PublicKeyJob {
    private hash: Sha512Job
    private multiplier = new BaseMultiplier()
    private stepOps: number
    private stage = 0 // 0 hashing the seed, 1 multiplying, 2 done
    private key: Buffer = null

    /** `stepOps`: op budget of one step (default STEP_OPS, at least MIN_STEP_OPS). */
    constructor(seed: Buffer, stepOps?: number) {
        checkLength(seed, SEED_BYTES, "seed")
        this.stepOps = checkStepOps(stepOps)
        this.hash = new Sha512Job(seed)
    }

    /** Does one bounded step (at most stepOps ops); true once publicKey() is ready. */
    step(): boolean {
        let budget = this.stepOps
        while (this.stage < 2) {
            if (this.stage === 0) {
                if (budget < SHA512_STEP_OPS) return false
                budget -= SHA512_STEP_OPS
                if (this.hash.step()) {
                    const s = clampedScalar(this.hash.digest())
                    this.hash.wipe()
                    this.multiplier.start(s)
                    wipeBytes(s)
                    this.stage = 1
                }
            } else {
                budget = this.multiplier.advance(budget)
                if (!this.multiplier.done()) return false
                this.key = this.multiplier.encoded()
                this.multiplier.wipe()
                this.stage = 2
            }
        }
        return true
    }

    /** The 32-byte public key once step() has returned true, else null. */
    publicKey(): Buffer {
        return this.key
    }
}

/**
 * Signs `message` with the key pair (seed, publicKey) (RFC 8032 §5.1.6). `publicKey` must be the
 * one derived from `seed` (keep them together): signing one message under two different public
 * keys with the same seed reveals the secret scalar. `message` must not change until the job is
 * done (it is read, not copied). 62 steps for a 100-byte message at the default budget; 1.57 M ops
 * in all (metered).
 */
export class SignJob {
    private publicKey: Buffer
    private message: Buffer
    private hash: Sha512Job
    private multiplier = new BaseMultiplier()
    private secretScalar: Buffer = null // s of §5.1.6 step 1
    private nonce: Buffer = null // r of §5.1.6 step 2
    private prefixed: Buffer = null // prefix || M: secret prefix, wiped once hashed
    private encodedR: Buffer = null
    private challenge: Buffer = null // k of §5.1.6 step 4
    private result: Buffer = null
    private stepOps: number
    // 0 hash the seed; 1 hash prefix || M; 2 r = H mod L; 3 R = r B; 4 hash R || A || M; 5 k = H mod L; 6 S; 7 done
    private stage = 0

    /** `stepOps`: op budget of one step (default STEP_OPS, at least MIN_STEP_OPS). */
    constructor(seed: Buffer, publicKey: Buffer, message: Buffer, stepOps?: number) {
        checkLength(seed, SEED_BYTES, "seed")
        checkLength(publicKey, PUBLIC_KEY_BYTES, "public key")
        this.stepOps = checkStepOps(stepOps)
        this.publicKey = publicKey
        this.message = message
        this.hash = new Sha512Job(seed)
    }

    /** Does one bounded step (at most stepOps ops); true once signature() is ready. */
    step(): boolean {
        let budget = this.stepOps
        while (this.stage < 7) {
            const stage = this.stage
            if (stage === 0 || stage === 1 || stage === 4) {
                if (budget < SHA512_STEP_OPS) return false
                budget -= SHA512_STEP_OPS
                if (this.hash.step()) this.hashed()
            } else if (stage === 2) {
                if (budget < REDUCE_OPS) return false
                budget -= REDUCE_OPS
                const digest = this.hash.digest()
                this.nonce = reduceModL(digest, 0, 64)
                this.hash.wipe()
                wipeBytes(this.prefixed)
                this.multiplier.start(this.nonce)
                this.stage = 3
            } else if (stage === 3) {
                budget = this.multiplier.advance(budget)
                if (!this.multiplier.done()) return false
                this.encodedR = this.multiplier.encoded()
                this.multiplier.wipe()
                this.hash = new Sha512Job(join3(this.encodedR, this.publicKey, this.message))
                this.stage = 4
            } else if (stage === 5) {
                if (budget < REDUCE_OPS) return false
                budget -= REDUCE_OPS
                this.challenge = reduceModL(this.hash.digest(), 0, 64)
                this.stage = 6
            } else {
                if (budget < MULADD_OPS) return false
                budget -= MULADD_OPS
                const S = mulAddModL(this.nonce, this.challenge, this.secretScalar)
                wipeBytes(this.nonce)
                wipeBytes(this.secretScalar)
                const signature = Buffer.alloc(SIGNATURE_BYTES)
                signature.set(this.encodedR, 0)
                signature.set(S, 32)
                this.result = signature
                this.stage = 7
            }
        }
        return true
    }

    /** A hash finished: take its digest on to the next stage. */
    private hashed() {
        const digest = this.hash.digest()
        if (this.stage === 0) {
            this.secretScalar = clampedScalar(digest)
            const prefix = copyOf(digest, 32, 32)
            this.hash.wipe()
            // the buffer prefix || M holds the secret prefix: the job below reads it, then it is wiped
            this.prefixed = join3(prefix, this.message, Buffer.alloc(0))
            wipeBytes(prefix)
            this.hash = new Sha512Job(this.prefixed)
            this.stage = 1
        } else if (this.stage === 1) {
            this.stage = 2 // the reduction runs as its own unit
        } else {
            this.stage = 5
        }
    }

    /** The 64-byte signature R || S once step() has returned true, else null. */
    signature(): Buffer {
        return this.result
    }
}

/** The public key of `seed` in one go (Node, tests). On the device use PublicKeyJob and yield between steps. */
export function publicKeyFromSeed(seed: Buffer): Buffer {
    const job = new PublicKeyJob(seed)
    while (!job.step()) {}
    return job.publicKey()
}

/** The signature of `message` in one go (Node, tests). On the device use SignJob and yield between steps. */
export function sign(seed: Buffer, publicKey: Buffer, message: Buffer): Buffer {
    const job = new SignJob(seed, publicKey, message)
    while (!job.step()) {}
    return job.signature()
}
