/**
 * MSB-first bit packing of unsigned integers up to 53 bits wide, shared by firmware and Node.
 *
 * Values above 2^31 are split with `/` and `%` by powers of two (exact in doubles), because
 * bit operators are 32-bit in both runtimes. Each value is written in at most a few byte-sized
 * chunks, not bit by bit, to keep the device's bytecode budget low.
 */
import { FormatError, mod } from "./bytes"

const POW2: number[] = [1]
while (POW2.length <= 53) POW2.push(POW2[POW2.length - 1] * 2)

/** Bits needed to write `value` (0 for 0). */
export function bitWidth(value: number): number {
    let w = 0
    while (w < 53 && value >= POW2[w]) w++
    return w
}

export class BitWriter {
    private readonly out: number[] = []
    private current = 0
    private filled = 0

    /** Appends the low `width` bits of `value`, most significant first. */
    write(value: number, width: number) {
        if (width === 0) return
        if (width > 53 || value < 0 || value >= POW2[width])
            throw new RangeError(
                "value " + value + " does not fit in " + width + " bits"
            )
        while (width > 0) {
            const room = 8 - this.filled
            const take = width < room ? width : room
            const chunk = mod(Math.floor(value / POW2[width - take]), POW2[take])
            this.current = this.current * POW2[take] + chunk
            this.filled += take
            width -= take
            if (this.filled === 8) {
                this.out.push(this.current)
                this.current = 0
                this.filled = 0
            }
        }
    }

    /** The packed bytes; the last byte is padded with zero bits. */
    finish(): Buffer {
        const n = this.out.length + (this.filled > 0 ? 1 : 0)
        const buf = Buffer.alloc(n)
        for (let i = 0; i < this.out.length; i++) buf[i] = this.out[i]
        if (this.filled > 0)
            buf[n - 1] = this.current * POW2[8 - this.filled]
        return buf
    }
}

export class BitReader {
    private bit = 0

    constructor(
        private readonly data: Buffer,
        private readonly start: number,
        private readonly byteLength: number,
        private readonly what: string
    ) {}

    read(width: number): number {
        if (width > 53) throw new FormatError(this.what + ": bit width over 53")
        if (this.bit + width > this.byteLength * 8)
            throw new FormatError(this.what + ": packed values truncated")
        let value = 0
        while (width > 0) {
            const byte = this.data[this.start + Math.floor(this.bit / 8)]
            const used = this.bit % 8
            const room = 8 - used
            const take = width < room ? width : room
            const chunk =
                Math.floor(byte / POW2[room - take]) % POW2[take]
            value = value * POW2[take] + chunk
            this.bit += take
            width -= take
        }
        return value
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
