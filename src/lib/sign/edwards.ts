/**
 * Fixed-base scalar multiplication on edwards25519 (RFC 8032 §5.1.4-5.1.5): P = a * B for a
 * 32-byte little-endian scalar a < 2^255, then P's encoding (§5.1.2), as a resumable job.
 *
 * Method (the one of ref10, with a table spacing parameter): a is recoded into 64 signed radix-16
 * digits e[k] in [-8, 8], so a * B = sum e[k] 16^k B. The table (basetable.ts) holds
 * j * 16^(S i) * B for j = 1..8 and every group i (S = BASE_TABLE_SPACING). For q = S-1 down
 * to 0: add e[S i + q] * (table entry of group i) for every group i, then multiply the sum by 16
 * (4 doublings) unless q = 0. That is 64 mixed additions and 4 (S - 1) doublings; S = 2 is
 * ref10's 24 KB table, S = 4 halves it for 8 more doublings.
 *
 * Points are in extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, xy = T/Z
 * ("Twisted Edwards Curves Revisited", Hisil, Wong, Carter, Dawson 2008). Table entries are affine
 * (y + x, y - x, 2 d x y), so an addition costs 7 multiplications; a doubling 4 squarings and 4
 * multiplications. Every digit costs one addition, including 0 (the identity (1, 1, 0)), so the
 * op count does not depend on the scalar.
 */
import { BASE_TABLE, BASE_TABLE_SPACING } from "./basetable"
import { feInvert, feIsOdd, feNew, feSetSmall, feToBytes, LIMBS, Spend } from "./field"
import { feMul, feSqrTimes } from "./fieldmul"

/** Bytes of an encoded point. */
export const POINT_BYTES = 32

/*
 * Op costs of the units of work, measured in the simulator with the op meter of
 * test/harness/sign-device.ts (rounded up); a job step runs units while the sum of their costs
 * stays within its budget. Measured with the compact feMul (tools/gen-ed25519-table.ts, 4 rows a
 * loop iteration; docs/SIGNING.md "Code size"): addition 25,676, doubling 27,877, feMul 3,362,
 * a squaring 3,326 in a run of 10, feToBytes 5,380. (Written out in full: 13,205, 11,575, 1,528,
 * 1,027, 5,134.)
 */
/** One mixed addition of a table entry, including reading the entry. */
export const MADD_OPS = 27000
/** One doubling. */
export const DOUBLE_OPS = 29000
/** Affine conversion and encoding after the inversion: 2 feMul, 2 feToBytes. */
export const ENCODE_OPS = 18000

const GROUPS = 64 / BASE_TABLE_SPACING

/** Signed radix-16 digits of a 32-byte scalar < 2^255: 64 digits in [-8, 8] (the top one in [0, 8]). */
function recode(scalar: Buffer, digits: number[]) {
    for (let i = 0; i < 32; i++) {
        digits[2 * i] = scalar[i] & 15
        digits[2 * i + 1] = scalar[i] >> 4
    }
    let carry = 0
    for (let k = 0; k < 63; k++) {
        const v = digits[k] + carry
        carry = (v + 8) >> 4
        digits[k] = v - (carry << 4)
    }
    digits[63] += carry
}

/**
 * a * B for a secret scalar a, encoded (`multiply`), each unit of work (a table addition, a
 * doubling, a run of the inversion, the encoding) after `await spend(its op cost)`. Reusable;
 * `wipe()` clears every secret-dependent register.
 */
export class BaseMultiplier {
    private X = feNew()
    private Y = feNew()
    private Z = feNew()
    private T = feNew()
    // scratch of the point formulas and the table entry being added
    private a = feNew()
    private b = feNew()
    private c = feNew()
    private d = feNew()
    private e = feNew()
    private f = feNew()
    private g = feNew()
    private h = feNew()
    private yPlusX = feNew()
    private yMinusX = feNew()
    private xy2d = feNew()
    private digits: number[] = []

    constructor() {
        for (let i = 0; i < 64; i++) this.digits.push(0)
    }

    /** encode(a * B) (RFC 8032 §5.1.2) for the 32-byte little-endian scalar a < 2^255 (a clamped secret, or r mod L). */
    async multiply(scalar: Buffer, spend: Spend): Promise<Buffer> {
        recode(scalar, this.digits)
        feSetSmall(this.X, 0)
        feSetSmall(this.Y, 1)
        feSetSmall(this.Z, 1)
        feSetSmall(this.T, 0)
        // q: digit position within a group; 4 doublings between passes
        for (let q = BASE_TABLE_SPACING - 1; q >= 0; q--) {
            for (let group = 0; group < GROUPS; group++) {
                await spend(MADD_OPS)
                this.addDigit(group, this.digits[group * BASE_TABLE_SPACING + q])
            }
            if (q > 0)
                for (let i = 0; i < 4; i++) {
                    await spend(DOUBLE_OPS)
                    this.double()
                }
        }
        const zInverse = this.c
        await feInvert(zInverse, this.Z, spend)
        await spend(ENCODE_OPS)
        feMul(this.a, this.X, zInverse)
        feMul(this.b, this.Y, zInverse)
        const out = Buffer.alloc(POINT_BYTES)
        feToBytes(out, 0, this.b)
        if (feIsOdd(this.a)) out[31] |= 0x80
        return out
    }

    /** Overwrites the accumulator, scratch and digits: they reveal the secret scalar. */
    wipe() {
        const regs = [this.X, this.Y, this.Z, this.T, this.a, this.b, this.c, this.d, this.e, this.f, this.g, this.h]
        for (let i = 0; i < regs.length; i++) feSetSmall(regs[i], 0)
        feSetSmall(this.yPlusX, 0)
        feSetSmall(this.yMinusX, 0)
        feSetSmall(this.xy2d, 0)
        for (let i = 0; i < 64; i++) this.digits[i] = 0
    }

    /**
     * (X, Y, Z, T) += digit * (table entry of `group`); digit in [-8, 8]. 7 multiplications; the
     * additions are loops here rather than calls (a call costs ~30 us in the simulator). Public
     * for the op meter (test/harness/sign-device.ts).
     */
    addDigit(group: number, digit: number) {
        const negative = digit < 0
        const size = negative ? -digit : digit
        const yp = this.yPlusX
        const ym = this.yMinusX
        const xy = this.xy2d
        if (size === 0) {
            // the identity: y + x = 1, y - x = 1, 2dxy = 0
            for (let i = 0; i < LIMBS; i++) {
                yp[i] = 0
                ym[i] = 0
                xy[i] = 0
            }
            yp[0] = 1
            ym[0] = 1
        } else {
            const table = BASE_TABLE
            const base = 96 * (8 * group + size - 1)
            // -P = (-x, y): swaps y + x with y - x, and negates 2dxy (the sign below)
            const first = negative ? ym : yp
            const second = negative ? yp : ym
            for (let i = 0; i < LIMBS; i++) {
                const at = base + 2 * i
                first[i] = table[at] | (table[at + 1] << 8)
                second[i] = table[at + 32] | (table[at + 33] << 8)
                xy[i] = table[at + 64] | (table[at + 65] << 8)
            }
        }
        const X = this.X,
            Y = this.Y,
            Z = this.Z,
            T = this.T
        const a = this.a,
            b = this.b,
            c = this.c
        for (let i = 0; i < LIMBS; i++) {
            const x = X[i],
                y = Y[i]
            a[i] = y - x
            b[i] = y + x
        }
        feMul(a, a, ym) // A = (Y - X)(y - x)
        feMul(b, b, yp) // B = (Y + X)(y + x)
        feMul(c, T, xy) // C = T * 2dxy
        const e = this.e,
            f = this.f,
            g = this.g,
            h = this.h
        const sign = negative ? -1 : 1
        for (let i = 0; i < LIMBS; i++) {
            const ai = a[i],
                bi = b[i],
                di = 2 * Z[i],
                ci = sign * c[i]
            e[i] = bi - ai // E = B - A
            h[i] = bi + ai // H = B + A
            f[i] = di - ci // F = D - C, D = 2Z
            g[i] = di + ci // G = D + C
        }
        feMul(X, e, f)
        feMul(Y, g, h)
        feMul(Z, f, g)
        feMul(T, e, h)
    }

    /**
     * (X, Y, Z, T) = 2 (X, Y, Z, T), formulas "dbl-2008-hwcd" for a = -1 with the signs of E, F,
     * G, H all flipped (products unchanged). Public for the op meter (test/harness/sign-device.ts).
     */
    double() {
        const X = this.X,
            Y = this.Y,
            Z = this.Z,
            T = this.T
        const a = this.a,
            b = this.b,
            c = this.c,
            e = this.e,
            f = this.f,
            g = this.g,
            h = this.h
        feSqrTimes(a, X, 1) // A = X^2
        feSqrTimes(b, Y, 1) // B = Y^2
        feSqrTimes(c, Z, 1) // Z^2
        for (let i = 0; i < LIMBS; i++) e[i] = X[i] + Y[i]
        feSqrTimes(e, e, 1) // (X + Y)^2
        for (let i = 0; i < LIMBS; i++) {
            const ai = a[i],
                bi = b[i],
                hi = ai + bi,
                gi = ai - bi
            h[i] = hi // H = A + B
            g[i] = gi // G = A - B
            e[i] = hi - e[i] // E = H - (X + Y)^2
            f[i] = 2 * c[i] + gi // F = 2 Z^2 + G
        }
        feMul(X, e, f)
        feMul(Y, g, h)
        feMul(T, e, h)
        feMul(Z, f, g)
    }
}
