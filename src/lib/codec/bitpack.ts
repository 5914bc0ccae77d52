/**
 * MSB-first bit packing of unsigned integers up to 53 bits wide, shared by firmware and Node.
 *
 * Bit operators are 32-bit in both runtimes, so they are used only on values and widths up to
 * 24 bits (an accumulator then never exceeds 31 bits); a wider value is split with `/` by a
 * power of two (exact in doubles) into 24-bit pieces. The device's op budget per fiber run is
 * small (docs/DEVICESCRIPT.md, Runtime): every value costs a handful of ops, never a loop over its bits.
 */
import { FormatError, withRoom } from "./bytes"

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

/**
 * Packs values MSB first into a buffer that grows as needed. Give the exact capacity in bytes
 * when it is known (the readings builder knows its packed bit count): nothing is then
 * reallocated, and finish() hands the buffer over instead of copying it.
 */
export class BitWriter {
    private buf: Buffer
    /** Complete bytes written. */
    private at = 0
    /**
     * Pending bits: the low `filled` bits (fewer than 8) of `acc`. Bits above them may be
     * stale (already written out); they are never read again (see writeRun).
     */
    private acc = 0
    private filled = 0
    private finished = false

    constructor(capacity?: number) {
        this.buf = Buffer.alloc(capacity || 16)
    }

    private reserve(bits: number) {
        this.buf = withRoom(this.buf, this.at + Math.floor((this.filled + bits) / 8))
    }

    /** Appends the low `width` bits of `value`, most significant first. */
    write(value: number, width: number) {
        if (width === 0) return
        if (width > 53 || value < 0 || value >= POW2[width] || Math.floor(value) !== value)
            throw new RangeError("value " + value + " does not fit in " + width + " bits")
        this.writeRun([value], width)
    }

    /**
     * Appends the first `count` values of `values` (all of them by default) at `width` bits
     * (0..53), in order. The values are not checked: the caller guarantees integers in
     * 0 .. 2^width - 1 (the readings encoder takes `width` from these very values). This is
     * the encoder's loop over every delta of a block, so it keeps its state in locals and
     * spends a few ops per value (docs/DEVICESCRIPT.md, Runtime: op budget).
     */
    writeRun(values: number[], width: number, count?: number) {
        if (this.finished) throw new RangeError("BitWriter used after finish()")
        const n = count === undefined ? values.length : count
        if (width === 0 || n === 0) return
        if (this.at + (this.filled + n * width) / 8 > this.buf.length) this.reserve(n * width)
        if (width > FAST_BITS) {
            // Wider than the 32-bit operators allow: the high part first, then 24 bits.
            for (let k = 0; k < n; k++) {
                const high = Math.floor(values[k] / FAST_POW)
                this.writeRun([high], width - FAST_BITS)
                this.writeRun([values[k] - high * FAST_POW], FAST_BITS)
            }
            return
        }
        const buf = this.buf
        let at = this.at
        let acc = this.acc
        let filled = this.filled
        for (let k = 0; k < n; k++) {
            // `acc & 127` keeps the pending bits (at most 7) and drops most stale ones, so the
            // shifted accumulator stays below 2^31: no 32-bit overflow, no sign bit.
            acc = ((acc & 127) << width) | values[k]
            filled += width
            while (filled >= 8) {
                filled -= 8
                // Bits filled .. filled + 7 are all pending ones: stale bits sit higher up.
                buf[at] = (acc >> filled) & 255
                at++
            }
        }
        this.at = at
        this.acc = acc
        this.filled = filled
    }

    /**
     * Appends the first `count` values of `values` as Rice codes with parameter `k` (0..32):
     * floor(z / 2^k) one bits, a zero bit, then the low k bits of z. Unchecked like writeRun,
     * and like it kept in locals with no call per value (sealing runs on the device); the unary
     * parts go out up to 16 bits at a time, so the loop is bounded by the bits written.
     */
    writeRice(values: number[], k: number, count: number) {
        if (this.finished) throw new RangeError("BitWriter used after finish()")
        const scale = POW2[k]
        let total = 0
        for (let i = 0; i < count; i++) {
            const z = values[i]
            total += (z < 1073741824 ? (k < 30 ? z >> k : 0) : Math.floor(z / scale)) + 1 + k
        }
        if (this.at + (this.filled + total) / 8 > this.buf.length) this.reserve(total)
        const buf = this.buf
        let at = this.at
        let acc = this.acc
        let filled = this.filled
        for (let i = 0; i < count; i++) {
            const z = values[i]
            // Shifts are 32-bit and take the count mod 32: only for small z and k.
            let q = z < 1073741824 ? (k < 30 ? z >> k : 0) : Math.floor(z / scale)
            let rest = z - q * scale
            while (q > 0) {
                const m = q > 16 ? 16 : q
                acc = ((acc & 127) << m) | ((1 << m) - 1)
                filled += m
                while (filled >= 8) {
                    filled -= 8
                    buf[at] = (acc >> filled) & 255
                    at++
                }
                q -= m
            }
            // The zero bit and the remainder, k + 1 bits; over 24 the high part goes first.
            let width = k + 1
            if (width > FAST_BITS) {
                const high = Math.floor(rest / FAST_POW)
                acc = ((acc & 127) << (width - FAST_BITS)) | high
                filled += width - FAST_BITS
                while (filled >= 8) {
                    filled -= 8
                    buf[at] = (acc >> filled) & 255
                    at++
                }
                rest -= high * FAST_POW
                width = FAST_BITS
            }
            acc = ((acc & 127) << width) | rest
            filled += width
            while (filled >= 8) {
                filled -= 8
                buf[at] = (acc >> filled) & 255
                at++
            }
        }
        this.at = at
        this.acc = acc
        this.filled = filled
    }

    /** The packed bytes, the last byte padded with zero bits. Ends the writer. */
    finish(): Buffer {
        this.finished = true
        const n = this.at + (this.filled > 0 ? 1 : 0)
        // The writer's own buffer when it is exactly full: never written again, so no copy.
        const out = n === this.buf.length ? this.buf : Buffer.alloc(n)
        if (out !== this.buf && this.at > 0) out.set(this.buf.slice(0, this.at), 0)
        if (this.filled > 0) out[this.at] = ((this.acc & 127) << (8 - this.filled)) & 255
        return out
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
        if (this.bit + width > this.byteLength * 8) throw new FormatError(this.what + ": packed values truncated")
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
        if (end - this.bit >= 8) throw new FormatError(this.what + ": packed values too long")
        if (this.bit < end && this.read(end - this.bit) !== 0) throw new FormatError(this.what + ": non-zero padding bits")
    }
}

/** Bytes needed for `bits` packed bits. */
export function packedBytes(bits: number): number {
    return Math.ceil(bits / 8)
}
