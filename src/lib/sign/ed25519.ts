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
 * Each `step()` runs units of work (a SHA-512 block, a point addition, a few squarings...) whose
 * measured op costs sum to at most STEP_OPS. Verification is not implemented (the device only signs;
 * the Node tools verify with node:crypto).
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
 * Op budget of one step: well under the 131,071-op fiber limit, with room for the caller's own
 * work in the same fiber run. A SHA-512 block (one unit) needs about 44,000.
 */
export const STEP_OPS = 56000
/** Op cost of one SHA-512 block (43,500 measured with test/harness/sign-device.ts), rounded up. */
export const SHA512_BLOCK_OPS = 46000
/** Op cost of reducing a 64-byte hash mod L (14,200 measured). */
export const REDUCE_OPS = 15500
/** Op cost of (r + k s) mod L (23,500 measured). */
export const MULADD_OPS = 25000

function checkLength(b: Buffer, length: number, what: string) {
    if (!b || b.length !== length) throw new RangeError(what + " must be " + length + " bytes")
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
 * SHA-512(seed), A = encode(s * B). About 25 steps.
 */
export class PublicKeyJob {
    private hash: Sha512Job
    private multiplier = new BaseMultiplier()
    private stage = 0 // 0 hashing the seed, 1 multiplying, 2 done
    private key: Buffer = null

    constructor(seed: Buffer) {
        checkLength(seed, SEED_BYTES, "seed")
        this.hash = new Sha512Job(seed)
    }

    /** Does one bounded step (at most STEP_OPS ops); true once publicKey() is ready. */
    step(): boolean {
        let budget = STEP_OPS
        while (this.stage < 2) {
            if (this.stage === 0) {
                if (budget < SHA512_BLOCK_OPS) return false
                budget -= SHA512_BLOCK_OPS
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
 * keys with the same seed reveals the secret scalar. About 30 steps for a 100-byte message.
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
    private result: Buffer = null
    // 0 hash the seed; 1 hash prefix || M; 2 r = H mod L; 3 R = r B; 4 hash R || A || M; 5 S; 6 done
    private stage = 0

    constructor(seed: Buffer, publicKey: Buffer, message: Buffer) {
        checkLength(seed, SEED_BYTES, "seed")
        checkLength(publicKey, PUBLIC_KEY_BYTES, "public key")
        this.publicKey = publicKey
        this.message = message
        this.hash = new Sha512Job(seed)
    }

    /** Does one bounded step (at most STEP_OPS ops); true once signature() is ready. */
    step(): boolean {
        let budget = STEP_OPS
        while (this.stage < 6) {
            const stage = this.stage
            if (stage === 0 || stage === 1 || stage === 4) {
                if (budget < SHA512_BLOCK_OPS) return false
                budget -= SHA512_BLOCK_OPS
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
            } else {
                if (budget < REDUCE_OPS + MULADD_OPS) return false
                budget -= REDUCE_OPS + MULADD_OPS
                const k = reduceModL(this.hash.digest(), 0, 64)
                const S = mulAddModL(this.nonce, k, this.secretScalar)
                wipeBytes(this.nonce)
                wipeBytes(this.secretScalar)
                const signature = Buffer.alloc(SIGNATURE_BYTES)
                signature.set(this.encodedR, 0)
                signature.set(S, 32)
                this.result = signature
                this.stage = 6
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
