/**
 * MSB-first bit packing of unsigned integers up to 53 bits wide, shared by firmware and Node.
 *
 * Bit operators are 32-bit in both runtimes, so they are used only on values and widths up to
 * 24 bits (an accumulator then never exceeds 31 bits); a wider value is split with `/` by a
 * power of two (exact in doubles) into 24-bit pieces. The device's op budget per fiber run is
 * small (DESIGN.md §2): every value costs a handful of ops, never a loop over its bits.
 */
import { FormatError } from "./bytes"

export const POW2: number[] = [1]
while (POW2.length <= 53) POW2.push(POW2[POW2.length - 1] * 2)

/** Widest piece handled with 32-bit integer operators. */
const FAST_BITS = 24
const FAST_POW = 16777216

/** Bits needed to write `value` (0 for 0). */
export function bitWidth(value: number): number {
    let w = 0
    while (w < 53 && value >= POW2[w]) w++
    return w
}

export class BitWriter {
    private readonly out: number[] = []
    /** Pending bits (fewer than 8), right-aligned. */
    private current = 0
    private filled = 0

    /** Appends the low `width` bits of `value`, most significant first. */
    write(value: number, width: number) {
        if (width === 0) return
        if (width > 53 || value < 0 || value >= POW2[width])
            throw new RangeError(
                "value " + value + " does not fit in " + width + " bits"
            )
        if (width > FAST_BITS) {
            const high = Math.floor(value / FAST_POW)
            this.write(high, width - FAST_BITS)
            value -= high * FAST_POW
            width = FAST_BITS
        }
        let acc = (this.current << width) | value
        let filled = this.filled + width
        while (filled >= 8) {
            filled -= 8
            this.out.push((acc >> filled) & 255)
        }
        this.current = acc & ((1 << filled) - 1)
        this.filled = filled
    }

    /** The packed bytes; the last byte is padded with zero bits. */
    finish(): Buffer {
        const n = this.out.length + (this.filled > 0 ? 1 : 0)
        const buf = Buffer.alloc(n)
        for (let i = 0; i < this.out.length; i++) buf[i] = this.out[i]
        if (this.filled > 0) buf[n - 1] = this.current << (8 - this.filled)
        return buf
    }
}

/**
 * `width` bits (1..24) of `data` starting at bit `bit` (counted from the MSB of byte `start`).
 * The caller has checked that they lie within the buffer.
 */
export function readBits(data: Buffer, start: number, bit: number, width: number): number {
    let at = start + (bit >> 3)
    let have = 8 - (bit & 7)
    let acc = data[at] & ((1 << have) - 1)
    while (have < width) {
        acc = (acc << 8) | data[++at]
        have += 8
    }
    return (acc >> (have - width)) & ((1 << width) - 1)
}

export class BitReader {
    private bit = 0

    constructor(
        private readonly data: Buffer,
        private readonly start: number,
        private readonly byteLength: number,
        private readonly what: string
    ) {
        if (start + byteLength > data.length) throw new FormatError(what + ": packed values truncated")
    }

    read(width: number): number {
        if (width > 53) throw new FormatError(this.what + ": bit width over 53")
        if (this.bit + width > this.byteLength * 8)
            throw new FormatError(this.what + ": packed values truncated")
        if (width === 0) return 0
        let high = 0
        if (width > FAST_BITS) {
            high = this.read(width - FAST_BITS) * FAST_POW
            width = FAST_BITS
        }
        const value = readBits(this.data, this.start, this.bit, width)
        this.bit += width
        return high + value
    }

    /** Rejects non-zero padding so that one content has exactly one encoding. */
    finish() {
        const end = this.byteLength * 8
        if (end - this.bit >= 8)
            throw new FormatError(this.what + ": packed values too long")
        if (this.bit < end && this.read(end - this.bit) !== 0)
            throw new FormatError(this.what + ": non-zero padding bits")
    }
}

/** Bytes needed for `bits` packed bits. */
export function packedBytes(bits: number): number {
    return Math.ceil(bits / 8)
}
