/**
 * The readings codec: the body of a data block (FORMAT.md, "Data body").
 *
 * Per channel: the first present value as a zigzag varint, then every later present value as
 * the zigzag delta from the previous one, bit-packed at the smallest width that fits the
 * block's largest delta on that channel. Missing values (sensor fault) are marked in a bitmap
 * that exists only when some value is missing, so a healthy block pays nothing for it.
 */
import { bitWidth, BitWriter, packedBytes, POW2, readBits } from "./bitpack"
import { ByteReader, ByteWriter, FormatError, unzigzag, varintLength, zigzag } from "./bytes"
import { MAX_CHANNELS, MAX_READING, MIN_READING } from "./format"

/** A channel value that was not measured (sensor fault, read error); distinct from every number. */
export const MISSING: null = null

/** One reading: a fixed-point integer per channel, or MISSING. */
export type Reading = (number | null)[]

function isMissing(v: number | null): boolean {
    return v === null || v === undefined
}

/** Rejects anything but int32 or MISSING, naming the channel. */
export function checkReading(reading: Reading, channelCount: number) {
    if (!reading || reading.length !== channelCount)
        throw new RangeError("a reading needs exactly " + channelCount + " channel values")
    for (let c = 0; c < channelCount; c++) {
        const v = reading[c]
        if (isMissing(v)) continue
        if (typeof v !== "number" || Math.floor(v) !== v || v < MIN_READING || v > MAX_READING)
            throw new RangeError("channel " + c + ": value must be a 32-bit integer or MISSING, got " + v)
    }
}

/**
 * Collects the readings of the open block and knows, at every step, how many bytes its
 * body would take: the ledger uses that to seal before a block outgrows one settings value.
 *
 * The size is kept up to date as readings come in (one reading per fiber run on the device),
 * so neither a size check nor the encoding of a full block walks every value more than once.
 */
export class ReadingsBuilder {
    /** Reading-major values of every reading added so far (MISSING is null). */
    readonly values: Reading[] = []
    private readonly present: number[] = []
    private readonly first: number[] = []
    private readonly last: number[] = []
    private readonly width: number[] = []
    /** Per reading of `tryAdd`: the width each channel would have with it. */
    private readonly nextWidth: number[] = []
    private missingCount = 0
    /** Bytes of the first values and widths of the channels with a present value. */
    private firstBytes = 0
    /** Sum over channels of width * (present - 1): the packed deltas' length in bits. */
    private bits = 0

    constructor(readonly channelCount: number) {
        if (channelCount < 1 || channelCount > MAX_CHANNELS)
            throw new RangeError("channelCount must be 1.." + MAX_CHANNELS)
        for (let c = 0; c < channelCount; c++) {
            this.present.push(0)
            this.first.push(0)
            this.last.push(0)
            this.width.push(0)
            this.nextWidth.push(0)
        }
    }

    count(): number {
        return this.values.length
    }

    hasMissing(): boolean {
        return this.missingCount > 0
    }

    /**
     * Body size in bytes now, or after `next` were added (without adding it). Fills
     * `nextWidth` for `next`, which `tryAdd` then applies without computing widths again.
     */
    bodySize(next?: Reading): number {
        const channels = this.channelCount
        let n = this.values.length
        let anyMissing = this.missingCount > 0
        let size = 1 + this.firstBytes
        let bits = this.bits
        if (next) {
            n++
            for (let c = 0; c < channels; c++) {
                const v = next[c]
                let width = this.width[c]
                if (v === null || v === undefined) anyMissing = true
                else if (this.present[c] === 0) size += varintLength(zigzag(v)) + 1
                else {
                    const d = v - this.last[c]
                    const z = d >= 0 ? d * 2 : -d * 2 - 1
                    // A wider delta widens every earlier delta of the channel too.
                    if (z >= POW2[width]) {
                        const w = bitWidth(z)
                        bits += (w - width) * (this.present[c] - 1)
                        width = w
                    }
                    bits += width
                }
                this.nextWidth[c] = width
            }
        }
        if (anyMissing) size += packedBytes(n * channels)
        return size + packedBytes(bits)
    }

    add(reading: Reading) {
        checkReading(reading, this.channelCount)
        this.bodySize(reading)
        this.append(reading)
    }

    /**
     * Adds a reading already checked with `checkReading` if the body then takes at most
     * `maxBytes`; false (nothing added) otherwise.
     */
    tryAdd(reading: Reading, maxBytes: number): boolean {
        if (this.bodySize(reading) > maxBytes) return false
        this.append(reading)
        return true
    }

    /** Adds `reading` with the widths `bodySize(reading)` left in `nextWidth`. */
    private append(reading: Reading) {
        const copy: Reading = []
        for (let c = 0; c < this.channelCount; c++) {
            const v = reading[c]
            if (v === null || v === undefined) {
                copy.push(MISSING)
                this.missingCount++
                continue
            }
            copy.push(v)
            const present = this.present[c]
            if (present === 0) {
                this.first[c] = v
                this.firstBytes += varintLength(zigzag(v)) + 1
            } else {
                const width = this.nextWidth[c]
                this.bits += width * present - this.width[c] * (present - 1)
                this.width[c] = width
            }
            this.last[c] = v
            this.present[c] = present + 1
        }
        this.values.push(copy)
    }

    /** Writes the data body (everything between header and tag). */
    encode(w: ByteWriter) {
        const channels = this.channelCount
        const values = this.values
        const n = values.length
        w.u8(channels)
        if (this.missingCount > 0) {
            // Reading-major, 1 = missing, MSB first: eight values to a byte.
            const bitmap = Buffer.alloc(packedBytes(n * channels))
            let at = 0
            let acc = 0
            let filled = 0
            for (let i = 0; i < n; i++) {
                const reading = values[i]
                for (let c = 0; c < channels; c++) {
                    acc = (acc << 1) | (reading[c] === null ? 1 : 0)
                    if (++filled === 8) {
                        bitmap[at++] = acc
                        acc = 0
                        filled = 0
                    }
                }
            }
            if (filled > 0) bitmap[at] = acc << (8 - filled)
            w.bytes(bitmap)
        }
        for (let c = 0; c < channels; c++) {
            if (this.present[c] === 0) continue
            w.varint(zigzag(this.first[c]))
            w.u8(this.width[c])
        }
        const packed = new BitWriter()
        for (let c = 0; c < channels; c++) {
            const width = this.width[c]
            // Width 0: every delta is 0 and takes no bits.
            if (width === 0) continue
            let prev = this.first[c]
            let started = false
            for (let i = 0; i < n; i++) {
                const v = values[i][c]
                if (v === null) continue
                if (started) {
                    const d = v - prev
                    packed.write(d >= 0 ? d * 2 : -d * 2 - 1, width)
                } else started = true
                prev = v
            }
        }
        w.bytes(packed.finish())
    }
}

/**
 * Decodes a data body of `count` readings and `hasMissing` from the header flags. Strict: the
 * canonical encoding is the only one accepted (minimal widths, zero padding, no empty bitmap).
 *
 * One pass in reading order builds each reading once: every channel has its own cursor into
 * the packed deltas, which are stored channel by channel.
 */
export function decodeReadings(r: ByteReader, count: number, hasMissing: boolean): Reading[] {
    const channels = r.u8("channel count")
    if (channels < 1 || channels > MAX_CHANNELS)
        throw new FormatError("data block channel count " + channels + " outside 1.." + MAX_CHANNELS)
    const data = r.data
    const present: number[] = []
    for (let c = 0; c < channels; c++) present.push(count)
    let bitmapAt = -1
    if (hasMissing) {
        const bytes = packedBytes(count * channels)
        if (r.offset + bytes > data.length) throw new FormatError("missing-value bitmap: packed values truncated")
        bitmapAt = r.offset
        let missing = 0
        let c = 0
        for (let k = 0; k < count * channels; k++) {
            if ((data[bitmapAt + (k >> 3)] & (128 >> (k & 7))) !== 0) {
                present[c]--
                missing++
            }
            if (++c === channels) c = 0
        }
        const used = (count * channels) & 7
        if (used !== 0 && (data[bitmapAt + bytes - 1] & (255 >> used)) !== 0)
            throw new FormatError("missing-value bitmap: non-zero padding bits")
        if (missing === 0) throw new FormatError("missing-values flag set but no value is missing")
        r.offset += bytes
    }
    const prev: number[] = []
    const widths: number[] = []
    /** Bit position of each channel's next delta within the packed deltas. */
    const cursor: number[] = []
    const widest: number[] = []
    let bits = 0
    for (let c = 0; c < channels; c++) {
        const first = present[c] > 0 ? unzigzag(r.varint("first value")) : 0
        const width = present[c] > 0 ? r.u8("delta width") : 0
        if (width > 33 || (present[c] < 2 && width !== 0))
            throw new FormatError("channel " + c + ": invalid delta width " + width)
        if (first < MIN_READING || first > MAX_READING)
            throw new FormatError("channel " + c + ": value outside 32-bit range")
        prev.push(first)
        widths.push(width)
        cursor.push(bits)
        widest.push(0)
        bits += width * (present[c] > 0 ? present[c] - 1 : 0)
    }
    const bytes = packedBytes(bits)
    const start = r.offset
    if (start + bytes > data.length) throw new FormatError("packed deltas: packed values truncated")
    const readings: Reading[] = []
    const started: boolean[] = []
    for (let c = 0; c < channels; c++) started.push(false)
    let k = 0
    for (let i = 0; i < count; i++) {
        const reading: Reading = []
        for (let c = 0; c < channels; c++) {
            if (bitmapAt >= 0 && (data[bitmapAt + (k >> 3)] & (128 >> (k & 7))) !== 0) {
                reading.push(MISSING)
                k++
                continue
            }
            k++
            if (!started[c]) {
                started[c] = true
                reading.push(prev[c])
                continue
            }
            const width = widths[c]
            if (width === 0) {
                reading.push(prev[c])
                continue
            }
            let z: number
            let v: number
            if (width <= 24) {
                z = readBits(data, start, cursor[c], width)
                v = prev[c] + ((z & 1) === 0 ? z >> 1 : -(z >> 1) - 1)
            } else {
                const high = readBits(data, start, cursor[c], width - 24)
                z = high * 16777216 + readBits(data, start, cursor[c] + width - 24, 24)
                v = prev[c] + unzigzag(z)
            }
            cursor[c] += width
            if (z > widest[c]) widest[c] = z
            if (v < MIN_READING || v > MAX_READING)
                throw new FormatError("channel " + c + ": value outside 32-bit range")
            reading.push(v)
            prev[c] = v
        }
        readings.push(reading)
    }
    for (let c = 0; c < channels; c++)
        if (bitWidth(widest[c]) !== widths[c])
            throw new FormatError("channel " + c + ": delta width " + widths[c] + " is not minimal")
    const used = bits & 7
    if (used !== 0 && (data[start + bytes - 1] & (255 >> used)) !== 0)
        throw new FormatError("packed deltas: non-zero padding bits")
    r.offset += bytes
    return readings
}
