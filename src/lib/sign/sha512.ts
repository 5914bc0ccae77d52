/**
 * SHA-512 (FIPS 180-4 §6.4) in plain bytecode, for Ed25519 (RFC 8032 §5.1 uses it for the
 * secret expansion, the nonce and the challenge). Pure: no `@devicescript` import, only the
 * Buffer subset common to Node and DeviceScript (indexing, `length`, `Buffer.alloc`).
 *
 * Why it looks the way it does:
 * - DeviceScript has no 64-bit integers, so each 64-bit word is a pair of int32 halves (hi, lo).
 *   Bit operators work on int32 in both runtimes; additions sum the low halves as unsigned
 *   numbers (`>>> 0`, exact in a double up to 2^53), and carry the quotient by 2^32 into the high
 *   half; `| 0` then wraps each half back to 32 bits (modular on both runtimes).
 * - A bytecode call costs about as much as 600 simple ops on the device (a frame is allocated), so
 *   the whole compression function is one body with the rotations written out inline.
 * - A fiber may run only 131,071 ops before it must yield, so hashing is a job: `step()` runs
 *   ROUNDS_PER_STEP of a block's 80 rounds (a block is about 43,000 ops in all, so a step about
 *   11,000), keeping the working variables in an array between steps, and the caller decides
 *   when to yield.
 */

/** SHA-512 block size in bytes. */
export const SHA512_BLOCK_BYTES = 128

/** SHA-512 digest size in bytes. */
export const SHA512_DIGEST_BYTES = 64

/** Rounds of the compression function per step: a quarter of a block. */
export const ROUNDS_PER_STEP = 20

const TWO32 = 4294967296

// FIPS 180-4 §4.2.3: the 80 round constants, big-endian (hi, lo halves), in program flash on the
// device (a `hex` literal; test/node/lib/sign/hexshim.ts provides it on Node). Decoded once into
// a number array on first use (about 4,000 ops): a number array reads faster than a buffer.
const ROUND_CONSTANTS: Buffer = hex`
428a2f98d728ae227137449123ef65cdb5c0fbcfec4d3b2fe9b5dba58189dbbc3956c25bf348b53859f111f1b605d019923f82a4af194f9bab1c5ed5da6d8118
d807aa98a303024212835b0145706fbe243185be4ee4b28c550c7dc3d5ffb4e272be5d74f27b896f80deb1fe3b1696b19bdc06a725c71235c19bf174cf692694
e49b69c19ef14ad2efbe4786384f25e30fc19dc68b8cd5b5240ca1cc77ac9c652de92c6f592b02754a7484aa6ea6e4835cb0a9dcbd41fbd476f988da831153b5
983e5152ee66dfaba831c66d2db43210b00327c898fb213fbf597fc7beef0ee4c6e00bf33da88fc2d5a79147930aa72506ca6351e003826f142929670a0e6e70
27b70a8546d22ffc2e1b21385c26c9264d2c6dfc5ac42aed53380d139d95b3df650a73548baf63de766a0abb3c77b2a881c2c92e47edaee692722c851482353b
a2bfe8a14cf10364a81a664bbc423001c24b8b70d0f89791c76c51a30654be30d192e819d6ef5218d69906245565a910f40e35855771202a106aa07032bbd1b8
19a4c116b8d2d0c81e376c085141ab532748774cdf8eeb9934b0bcb5e19b48a8391c0cb3c5c95a634ed8aa4ae3418acb5b9cca4f7763e373682e6ff3d6b2b8a3
748f82ee5defb2fc78a5636f43172f6084c87814a1f0ab728cc702081a6439ec90befffa23631e28a4506cebde82bde9bef9a3f7b2c67915c67178f2e372532b
ca273eceea26619cd186b8c721c0c207eada7dd6cde0eb1ef57d4f7fee6ed17806f067aa72176fba0a637dc5a2c898a6113f9804bef90dae1b710b35131c471b
28db77f523047d8432caab7b40c724933c9ebe0a15c9bebc431d67c49c100d4c4cc5d4becb3e42b6597f299cfc657e2a5fcb6fab3ad6faec6c44198c4a475817
`

// FIPS 180-4 §5.3.5: the initial hash value.
const INITIAL_HASH: Buffer = hex`
6a09e667f3bcc908bb67ae8584caa73b3c6ef372fe94f82ba54ff53a5f1d36f1
510e527fade682d19b05688c2b3e6c1f1f83d9abfb41bd6b5be0cd19137e2179
`

let roundConstants: number[] = null

/** The big-endian int32 words of a buffer. */
function wordsOf(bytes: Buffer): number[] {
    const words: number[] = []
    for (let i = 0; i < bytes.length; i += 4) words.push((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3])
    return words
}

/**
 * One SHA-512 computation over a message known in full, done ROUNDS_PER_STEP rounds at a time.
 * `new Sha512Job(m)`, then `step()` until it returns true, then `digest()`.
 * The message must not change until the job is done (it is read, not copied).
 */
export class Sha512Job {
    private message: Buffer
    private state: number[]
    private schedule: number[]
    private block: Buffer
    private blockCount: number
    private work: number[] // working variables a..h (hi, lo) between steps
    private nextBlock = 0
    private round = 0 // next round of the current block
    private result: Buffer = null

    constructor(message: Buffer) {
        if (roundConstants === null) roundConstants = wordsOf(ROUND_CONSTANTS)
        this.message = message
        this.state = wordsOf(INITIAL_HASH)
        this.schedule = []
        for (let i = 0; i < 32; i++) this.schedule.push(0)
        this.work = []
        for (let i = 0; i < 16; i++) this.work.push(0)
        this.block = Buffer.alloc(SHA512_BLOCK_BYTES)
        // the message, one 0x80 byte, then the 128-bit length: FIPS 180-4 §5.1.2
        this.blockCount = Math.floor((message.length + 17 + 127) / 128)
    }

    /** Runs the next ROUNDS_PER_STEP rounds; returns true once the digest is ready. */
    step(): boolean {
        if (this.result !== null) return true
        if (this.round === 0) {
            fillBlock(this.block, this.message, this.nextBlock, this.blockCount)
            loadBlock(this.schedule, this.block)
            for (let i = 0; i < 16; i++) this.work[i] = this.state[i]
        }
        const end = this.round + ROUNDS_PER_STEP
        compressRounds(this.work, this.schedule, this.round, end)
        this.round = end
        if (end < 80) return false
        addWords(this.state, this.work)
        this.round = 0
        this.nextBlock++
        if (this.nextBlock === this.blockCount) {
            this.result = digestOf(this.state)
            return true
        }
        return false
    }

    /** The 64-byte digest; null until `step()` has returned true. */
    digest(): Buffer {
        return this.result
    }

    /** Overwrites the chaining state, schedule, block and digest: they derive from the (secret) message. */
    wipe() {
        for (let i = 0; i < 16; i++) this.state[i] = 0
        for (let i = 0; i < 32; i++) this.schedule[i] = 0
        for (let i = 0; i < 16; i++) this.work[i] = 0
        for (let i = 0; i < SHA512_BLOCK_BYTES; i++) this.block[i] = 0
        if (this.result !== null) for (let i = 0; i < SHA512_DIGEST_BYTES; i++) this.result[i] = 0
    }
}

/** Block `index` of the padded message (FIPS 180-4 §5.1.2), of `blockCount` in all, into `block`. */
function fillBlock(block: Buffer, msg: Buffer, index: number, blockCount: number) {
    const length = msg.length
    const start = index * 128
    for (let i = 0; i < 128; i++) {
        const pos = start + i
        block[i] = pos < length ? msg[pos] : pos === length ? 0x80 : 0
    }
    if (index === blockCount - 1) {
        const bitsHigh = Math.floor(length / 536870912) // length * 8 / 2^32
        const bitsLow = (length - bitsHigh * 536870912) * 8
        block[120] = (bitsHigh >>> 24) & 255
        block[121] = (bitsHigh >>> 16) & 255
        block[122] = (bitsHigh >>> 8) & 255
        block[123] = bitsHigh & 255
        block[124] = (bitsLow >>> 24) & 255
        block[125] = (bitsLow >>> 16) & 255
        block[126] = (bitsLow >>> 8) & 255
        block[127] = bitsLow & 255
    }
}

/** The digest bytes of the chaining state (16 int32: hi, lo). */
function digestOf(state: number[]): Buffer {
    const out = Buffer.alloc(SHA512_DIGEST_BYTES)
    for (let i = 0; i < 16; i++) {
        const w = state[i]
        out[4 * i] = (w >>> 24) & 255
        out[4 * i + 1] = (w >>> 16) & 255
        out[4 * i + 2] = (w >>> 8) & 255
        out[4 * i + 3] = w & 255
    }
    return out
}

/** n zeros. */
function zeros(n: number): number[] {
    const a: number[] = []
    for (let i = 0; i < n; i++) a.push(0)
    return a
}

/**
 * SHA-512 of `message` as the firmware runs it: each ROUNDS_PER_STEP rounds of a block after
 * `await spend(stepOps)` (their measured op cost; the caller's budget decides when to yield).
 * One function rather than Sha512Job's state machine (the op meter's unit, test/harness): less
 * function code in the 64 KB budget. The working state is wiped before it returns.
 */
export async function sha512Metered(message: Buffer, spend: (ops: number) => Promise<void>, stepOps: number): Promise<Buffer> {
    if (roundConstants === null) roundConstants = wordsOf(ROUND_CONSTANTS)
    const state = wordsOf(INITIAL_HASH)
    const schedule = zeros(32)
    const work = zeros(16)
    const block = Buffer.alloc(SHA512_BLOCK_BYTES)
    const blockCount = Math.floor((message.length + 17 + 127) / 128)
    for (let n = 0; n < blockCount; n++) {
        fillBlock(block, message, n, blockCount)
        loadBlock(schedule, block)
        for (let i = 0; i < 16; i++) work[i] = state[i]
        for (let round = 0; round < 80; round += ROUNDS_PER_STEP) {
            await spend(stepOps)
            compressRounds(work, schedule, round, round + ROUNDS_PER_STEP)
        }
        addWords(state, work)
    }
    const digest = digestOf(state)
    for (let i = 0; i < 32; i++) schedule[i] = 0
    for (let i = 0; i < 16; i++) state[i] = work[i] = 0
    for (let i = 0; i < SHA512_BLOCK_BYTES; i++) block[i] = 0
    return digest
}

/** The block's 16 big-endian 64-bit words into the schedule ring `w` (32 int32: hi, lo). */
function loadBlock(w: number[], block: Buffer) {
    for (let i = 0; i < 32; i++) {
        const j = 4 * i
        w[i] = (block[j] << 24) | (block[j + 1] << 16) | (block[j + 2] << 8) | block[j + 3]
    }
}

/**
 * Rounds `from` .. `to` - 1 of the SHA-512 compression (FIPS 180-4 §6.4.2 step 3) on the working
 * variables `v` (16 int32: hi, lo of a..h). `w` is the message schedule as a 16-word ring (32
 * int32) computed on the fly, so it carries over from one call to the next.
 */
function compressRounds(v: number[], w: number[], from: number, to: number) {
    const k = roundConstants
    let ah = v[0],
        al = v[1],
        bh = v[2],
        bl = v[3]
    let ch = v[4],
        cl = v[5],
        dh = v[6],
        dl = v[7]
    let eh = v[8],
        el = v[9],
        fh = v[10],
        fl = v[11]
    let gh = v[12],
        gl = v[13],
        hh = v[14],
        hl = v[15]
    for (let t = from; t < to; t++) {
        const slot = 2 * (t & 15)
        if (t >= 16) {
            // W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16]  (§6.4.2 step 1)
            const s2 = 2 * ((t - 2) & 15)
            const s7 = 2 * ((t - 7) & 15)
            const s15 = 2 * ((t - 15) & 15)
            const xh = w[s2],
                xl = w[s2 + 1]
            // sigma1 = ROTR19 ^ ROTR61 ^ SHR6
            const s1h = ((xh >>> 19) | (xl << 13)) ^ ((xl >>> 29) | (xh << 3)) ^ (xh >>> 6)
            const s1l = ((xl >>> 19) | (xh << 13)) ^ ((xh >>> 29) | (xl << 3)) ^ ((xl >>> 6) | (xh << 26))
            const yh = w[s15],
                yl = w[s15 + 1]
            // sigma0 = ROTR1 ^ ROTR8 ^ SHR7
            const s0h = ((yh >>> 1) | (yl << 31)) ^ ((yh >>> 8) | (yl << 24)) ^ (yh >>> 7)
            const s0l = ((yl >>> 1) | (yh << 31)) ^ ((yl >>> 8) | (yh << 24)) ^ ((yl >>> 7) | (yh << 25))
            const lo = (s1l >>> 0) + (w[s7 + 1] >>> 0) + (s0l >>> 0) + (w[slot + 1] >>> 0)
            w[slot] = (s1h + w[s7] + s0h + w[slot] + ((lo / TWO32) | 0)) | 0
            w[slot + 1] = lo | 0
        }
        // T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]; Sigma1 = ROTR14 ^ ROTR18 ^ ROTR41
        const sh = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23))
        const sl = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23))
        const chh = (eh & fh) ^ (~eh & gh)
        const chl = (el & fl) ^ (~el & gl)
        const t1lo = (hl >>> 0) + (sl >>> 0) + (chl >>> 0) + (k[2 * t + 1] >>> 0) + (w[slot + 1] >>> 0)
        const t1h = hh + sh + chh + k[2 * t] + w[slot] + ((t1lo / TWO32) | 0)
        const t1l = t1lo | 0
        // T2 = Sigma0(a) + Maj(a, b, c); Sigma0 = ROTR28 ^ ROTR34 ^ ROTR39
        const zh = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25))
        const zl = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25))
        const mh = (ah & bh) ^ (ah & ch) ^ (bh & ch)
        const ml = (al & bl) ^ (al & cl) ^ (bl & cl)
        const t2lo = (zl >>> 0) + (ml >>> 0)
        const t2h = zh + mh + ((t2lo / TWO32) | 0)
        const t2l = t2lo | 0
        hh = gh
        hl = gl
        gh = fh
        gl = fl
        fh = eh
        fl = el
        const elo = (dl >>> 0) + (t1l >>> 0)
        eh = (dh + t1h + ((elo / TWO32) | 0)) | 0
        el = elo | 0
        dh = ch
        dl = cl
        ch = bh
        cl = bl
        bh = ah
        bl = al
        const alo = (t1l >>> 0) + (t2l >>> 0)
        ah = (t1h + t2h + ((alo / TWO32) | 0)) | 0
        al = alo | 0
    }
    v[0] = ah
    v[1] = al
    v[2] = bh
    v[3] = bl
    v[4] = ch
    v[5] = cl
    v[6] = dh
    v[7] = dl
    v[8] = eh
    v[9] = el
    v[10] = fh
    v[11] = fl
    v[12] = gh
    v[13] = gl
    v[14] = hh
    v[15] = hl
}

/** state += v, word by word modulo 2^64 (FIPS 180-4 §6.4.2 step 4). */
function addWords(state: number[], v: number[]) {
    for (let i = 0; i < 16; i += 2) {
        const sum = (state[i + 1] >>> 0) + (v[i + 1] >>> 0)
        state[i] = (state[i] + v[i] + ((sum / TWO32) | 0)) | 0
        state[i + 1] = sum | 0
    }
}

/** SHA-512 of `message` in one go (Node tests; on the device a block is about 43,000 ops, a third of a fiber's budget). */
export function sha512(message: Buffer): Buffer {
    const job = new Sha512Job(message)
    while (!job.step()) {}
    return job.digest()
}
