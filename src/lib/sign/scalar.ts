/**
 * Scalars mod L = 2^252 + 27742317777372353535851937790883648493, the order of the Ed25519 base
 * point (RFC 8032 §5.1): reducing a 64-byte SHA-512 output (§5.1.6 steps 2 and 4) and computing
 * S = (r + k * s) mod L (§5.1.6 step 5).
 *
 * Numbers are arrays of signed limbs of 21 bits, value = sum limb[i] * 2^(21 i). 21 because
 * 252 = 12 * 21: bit 252 starts limb 12 exactly, and 2^252 = -c (mod L) with c = L - 2^252 a
 * 125-bit number of 6 limbs, so a limb v at position i >= 12 folds into positions i - 12 .. i - 7
 * as -v * c. Limb products stay below 2^42 and sums of a few dozen of them below 2^53: exact in
 * doubles. The code runs twice per signature and loops rather than unrolls (a few thousand ops).
 */

const RADIX = 2097152 // 2^21
const HALF = 1048576 // 2^20

/** c = L - 2^252 in 21-bit limbs, least significant first. */
const C_LIMBS = [1430509, 1626855, 1442968, 997804, 1960495, 683900]

/** Room for the 25 limbs of a 512-bit number, a 13 x 13 limb product, and a carry out of the top. */
const WORK_LIMBS = 28

/** Byte length of an encoded scalar. */
export const SCALAR_BYTES = 32

/** The little-endian number at bytes[offset .. offset + length) as 21-bit limbs, in a WORK_LIMBS array. */
export function limbsOf(bytes: Buffer, offset: number, length: number): number[] {
    const x: number[] = []
    for (let i = 0; i < WORK_LIMBS; i++) x.push(0)
    let acc = 0
    let bits = 0
    let n = 0
    for (let i = 0; i < length; i++) {
        acc |= bytes[offset + i] << bits // bits < 21, so acc < 2^29
        bits += 8
        if (bits >= 21) {
            x[n++] = acc & (RADIX - 1)
            acc >>>= 21
            bits -= 21
        }
    }
    if (bits > 0) x[n] = acc
    return x
}

/** Carries limbs 0 .. n-1 of x so each lies in [-2^20, 2^20); returns the new limb count (without zero top limbs). */
function carryBalanced(x: number[], n: number): number {
    for (let i = 0; i < n; i++) {
        const carry = Math.floor((x[i] + HALF) / RADIX)
        x[i] -= carry * RADIX
        x[i + 1] += carry
        if (i === n - 1 && carry !== 0) n++
    }
    while (n > 0 && x[n - 1] === 0) n--
    return n
}

/**
 * x mod L as 32 little-endian bytes, for x given as `n` limbs (signed, each below 2^46 in
 * magnitude) in a WORK_LIMBS array, which it overwrites. Variable time in the number of folding
 * rounds only (they depend on the length of x, not on its value, except for rare carries).
 */
export function reduceLimbsModL(x: number[], n: number): Buffer {
    n = carryBalanced(x, n)
    while (n > 12) {
        // Fold the top limbs, at most 7 of them: their contributions land below n - 7, so no limb
        // is folded after it has grown, and each takes at most 6 terms (below 2^44 in all).
        const low = n - 7 > 12 ? n - 7 : 12
        for (let i = n - 1; i >= low; i--) {
            const v = x[i]
            x[i] = 0
            for (let j = 0; j < 6; j++) x[i - 12 + j] -= v * C_LIMBS[j]
        }
        n = carryBalanced(x, n)
    }
    // Now |x| < 2^252 < L. If negative, add L = 2^252 + c; then floor-carry to limbs in [0, 2^21).
    if (n > 0 && x[n - 1] < 0) {
        for (let j = 0; j < 6; j++) x[j] += C_LIMBS[j]
        x[12] += 1
    }
    for (let i = 0; i < 13; i++) {
        const carry = Math.floor(x[i] / RADIX)
        x[i] -= carry * RADIX
        x[i + 1] += carry
    }
    const out = Buffer.alloc(SCALAR_BYTES)
    let acc = 0
    let bits = 0
    let k = 0
    for (let i = 0; i < 13 && k < SCALAR_BYTES; i++) {
        acc += x[i] * (1 << bits) // bits < 8: acc < 2^29
        bits += 21
        while (bits >= 8 && k < SCALAR_BYTES) {
            out[k++] = acc & 255
            acc >>>= 8
            bits -= 8
        }
    }
    return out
}

/** bytes[offset .. offset + length) read as a little-endian number, mod L (RFC 8032 §5.1.6 steps 2 and 4: length 64). */
export function reduceModL(bytes: Buffer, offset: number, length: number): Buffer {
    return reduceLimbsModL(limbsOf(bytes, offset, length), Math.ceil((length * 8) / 21))
}

/** (r + k * s) mod L for 32-byte little-endian r, k, s (RFC 8032 §5.1.6 step 5). */
export function mulAddModL(r: Buffer, k: Buffer, s: Buffer): Buffer {
    const kl = limbsOf(k, 0, SCALAR_BYTES)
    const sl = limbsOf(s, 0, SCALAR_BYTES)
    const x = limbsOf(r, 0, SCALAR_BYTES)
    // 13 x 13 limbs: each column below 13 * 2^42 < 2^46
    for (let i = 0; i < 13; i++) {
        const ki = kl[i]
        for (let j = 0; j < 13; j++) x[i + j] += ki * sl[j]
    }
    return reduceLimbsModL(x, 25)
}
