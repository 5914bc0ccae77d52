/**
 * Field elements mod p = 2^255 - 19 (RFC 8032 §5.1): 16 signed limbs of 16 bits in a plain number
 * array, value = sum limb[i] * 2^(16 i). The multiply, square, add and subtract kernels are
 * written out in fieldmul.ts (generated); additions are loops fused into the point formulas
 * (edwards.ts); this file has what runs a few times per signature:
 * decoding, canonical encoding, and the inversion as a resumable addition chain.
 *
 * Why 16-bit limbs in doubles: products of two limbs stay below 2^36, so a column of 16 of them,
 * even after folding the top half back times 38, stays far below 2^53 (exact), with room for
 * limbs grown by a few unreduced additions; and a 32-byte encoding is exactly 16 little-endian
 * 16-bit words, so reading a table entry is two byte reads per limb.
 */
import { feMul, feSqrTimes } from "./fieldmul"

/** Number of limbs of a field element. */
export const LIMBS = 16

/** A field element: LIMBS numbers. Preallocate and reuse them (an allocation costs ~20 us on the device). */
export type Fe = number[]

/** A new field element, zero. */
export function feNew(): Fe {
    return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}

/** o = small integer v (0 <= v < 65536). */
export function feSetSmall(o: Fe, v: number) {
    o[0] = v
    for (let i = 1; i < LIMBS; i++) o[i] = 0
}

/** o = a. */
export function feCopy(o: Fe, a: Fe) {
    for (let i = 0; i < LIMBS; i++) o[i] = a[i]
}

/** o = the 255-bit little-endian number at bytes[offset .. offset + 32), top bit ignored (RFC 8032 §5.1.3). */
export function feFromBytes(o: Fe, bytes: Buffer, offset: number) {
    for (let i = 0; i < LIMBS; i++) o[i] = bytes[offset + 2 * i] | (bytes[offset + 2 * i + 1] << 8)
    o[15] &= 0x7fff
}

/**
 * Writes a as its canonical 32-byte little-endian encoding (value in [0, p)) at out[offset..].
 * Variable time: used on public values only (coordinates of R and A).
 */
export function feToBytes(out: Buffer, offset: number, a: Fe) {
    const t = feNew()
    feCopy(t, a)
    // Three floor-carry passes bring every limb into [0, 2^16) and the value into [0, 2^256).
    for (let pass = 0; pass < 3; pass++) {
        for (let i = 0; i < LIMBS; i++) {
            const carry = Math.floor(t[i] / 65536)
            t[i] -= carry * 65536
            if (i < LIMBS - 1) t[i + 1] += carry
            else t[0] += 38 * carry
        }
    }
    // 2^256 < 2p + 38 < 3p, so at most two subtractions of p = (0xffed, 0xffff x 14, 0x7fff).
    for (let round = 0; round < 2; round++) {
        const m = feNew()
        let borrow = 0
        for (let i = 0; i < LIMBS; i++) {
            const limbOfP = i === 0 ? 0xffed : i === LIMBS - 1 ? 0x7fff : 0xffff
            const v = t[i] - limbOfP - borrow
            borrow = v < 0 ? 1 : 0
            m[i] = v + borrow * 65536
        }
        if (borrow === 0) feCopy(t, m)
    }
    for (let i = 0; i < LIMBS; i++) {
        out[offset + 2 * i] = t[i] & 255
        out[offset + 2 * i + 1] = t[i] >> 8
    }
}

/** True if a is odd once reduced: the sign bit of an encoded x coordinate (RFC 8032 §5.1.2). */
export function feIsOdd(a: Fe): boolean {
    const b = Buffer.alloc(32)
    feToBytes(b, 0, a)
    return (b[0] & 1) === 1
}

/*
 * Inversion z^(p-2) (Fermat), as the usual chain of 254 squarings and 11 multiplications for
 * p - 2 = 2^255 - 21. Each instruction is (dst, src, n, m): r[dst] = r[src]^(2^n) * r[m], over
 * registers r[0] = z and r[1..8]. dst never equals m when n > 0, as the squarings would
 * overwrite the multiplier.
 */
// prettier-ignore
const CHAIN = [
    1, 0, 1, -1,    // r1 = z^2
    2, 1, 2, 0,     // r2 = z^8 * z = z^9
    1, 1, 0, 2,     // r1 = z^2 * z^9 = z^11
    3, 1, 1, 2,     // r3 = z^22 * z^9 = z^(2^5 - 1)
    4, 3, 5, 3,     // r4 = z^(2^10 - 1)
    5, 4, 10, 4,    // r5 = z^(2^20 - 1)
    6, 5, 20, 5,    // r6 = z^(2^40 - 1)
    6, 6, 10, 4,    // r6 = z^(2^50 - 1)
    7, 6, 50, 6,    // r7 = z^(2^100 - 1)
    8, 7, 100, 7,   // r8 = z^(2^200 - 1)
    8, 8, 50, 6,    // r8 = z^(2^250 - 1)
    8, 8, 5, 1,     // r8 = z^(2^255 - 32 + 11) = z^(p - 2)
]

/** Total squarings of the chain. */
export const INVERT_SQUARINGS = 254

/** Ops of one squaring (in a feSqrTimes run) and one feMul, measured with test/harness/sign-device.ts, rounded up. */
export const SQR_OPS = 3500
export const MUL_OPS = 3500

/**
 * Takes `ops` (the measured op cost of the unit of work that follows) from the caller's step
 * budget, first suspending the caller (a fiber yield on the device) when they do not fit:
 * the signer's units each run after `await spend(ops)` (ed25519.ts makes one per job).
 */
export type Spend = (ops: number) => Promise<void>

/** Squarings of one unit of the inversion: 8 x SQR_OPS stays well inside a step. */
const SQUARINGS_PER_UNIT = 8

/** o = 1 / z (z^(p-2); 0 for z = 0), each run of squarings and each multiplication a metered unit. o may be z. */
export async function feInvert(o: Fe, z: Fe, spend: Spend) {
    const r: Fe[] = []
    for (let i = 0; i < 9; i++) r.push(feNew())
    feCopy(r[0], z)
    for (let pc = 0; pc < CHAIN.length; pc += 4) {
        const dst = r[CHAIN[pc]]
        let src = r[CHAIN[pc + 1]]
        const n = CHAIN[pc + 2]
        for (let done = 0; done < n;) {
            const times = Math.min(SQUARINGS_PER_UNIT, n - done)
            await spend(times * SQR_OPS)
            feSqrTimes(dst, src, times)
            src = dst
            done += times
        }
        if (CHAIN[pc + 3] >= 0) {
            await spend(MUL_OPS)
            feMul(dst, src, r[CHAIN[pc + 3]])
        }
    }
    feCopy(o, r[8])
    // The powers of z: wiped, z being a secret-dependent coordinate.
    for (let i = 0; i < 9; i++) feSetSmall(r[i], 0)
}
