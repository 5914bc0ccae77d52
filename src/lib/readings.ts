/**
 * The readings codec: the body of a data block (FORMAT.md, "Data body").
 *
 * Per channel: the first present value as a zigzag varint, then every later present value as
 * the zigzag delta from the previous one, bit-packed at the smallest width that fits the
 * block's largest delta on that channel. Missing values (sensor fault) are marked in a bitmap
 * that exists only when some value is missing, so a healthy block pays nothing for it.
 */
import { bitWidth, BitReader, BitWriter, packedBytes } from "./bitpack"
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
 */
export class ReadingsBuilder {
    /** Reading-major values of every reading added so far. */
    readonly values: Reading[] = []
    private readonly present: number[] = []
    private readonly first: number[] = []
    private readonly last: number[] = []
    private readonly width: number[] = []
    private missingCount = 0

    constructor(readonly channelCount: number) {
        if (channelCount < 1 || channelCount > MAX_CHANNELS)
            throw new RangeError("channelCount must be 1.." + MAX_CHANNELS)
        for (let c = 0; c < channelCount; c++) {
            this.present.push(0)
            this.first.push(0)
            this.last.push(0)
            this.width.push(0)
        }
    }

    count(): number {
        return this.values.length
    }

    hasMissing(): boolean {
        return this.missingCount > 0
    }

    /** Body size in bytes now, or after `next` were added (without adding it). */
    bodySize(next?: Reading): number {
        const n = this.values.length + (next ? 1 : 0)
        let anyMissing = this.missingCount > 0
        let size = 1
        let bits = 0
        for (let c = 0; c < this.channelCount; c++) {
            let present = this.present[c]
            let first = this.first[c]
            let width = this.width[c]
            if (next) {
                const v = next[c]
                if (isMissing(v)) anyMissing = true
                else {
                    if (present === 0) first = v
                    else {
                        const w = bitWidth(zigzag(v - this.last[c]))
                        if (w > width) width = w
                    }
                    present++
                }
            }
            if (present > 0) {
                size += varintLength(zigzag(first)) + 1
                bits += width * (present - 1)
            }
        }
        if (anyMissing) size += packedBytes(n * this.channelCount)
        return size + packedBytes(bits)
    }

    add(reading: Reading) {
        checkReading(reading, this.channelCount)
        const copy: Reading = []
        for (let c = 0; c < this.channelCount; c++) {
            const v = reading[c]
            if (isMissing(v)) {
                copy.push(MISSING)
                this.missingCount++
                continue
            }
            copy.push(v)
            if (this.present[c] === 0) this.first[c] = v
            else {
                const w = bitWidth(zigzag(v - this.last[c]))
                if (w > this.width[c]) this.width[c] = w
            }
            this.last[c] = v
            this.present[c]++
        }
        this.values.push(copy)
    }

    /** Writes the data body (everything between header and tag). */
    encode(w: ByteWriter) {
        const channels = this.channelCount
        w.u8(channels)
        if (this.missingCount > 0) {
            const bitmap = new BitWriter()
            for (const reading of this.values)
                for (let c = 0; c < channels; c++) bitmap.write(isMissing(reading[c]) ? 1 : 0, 1)
            w.bytes(bitmap.finish())
        }
        for (let c = 0; c < channels; c++) {
            if (this.present[c] === 0) continue
            w.varint(zigzag(this.first[c]))
            w.u8(this.width[c])
        }
        const packed = new BitWriter()
        for (let c = 0; c < channels; c++) {
            const width = this.width[c]
            let prev: number = null
            for (const reading of this.values) {
                const v = reading[c]
                if (isMissing(v)) continue
                if (prev !== null) packed.write(zigzag(v - prev), width)
                prev = v
            }
        }
        w.bytes(packed.finish())
    }
}

/**
 * Decodes a data body of `count` readings and `hasMissing` from the header flags. Strict: the
 * canonical encoding is the only one accepted (minimal widths, zero padding, no empty bitmap).
 */
export function decodeReadings(r: ByteReader, count: number, hasMissing: boolean): Reading[] {
    const channels = r.u8("channel count")
    if (channels < 1 || channels > MAX_CHANNELS)
        throw new FormatError("data block channel count " + channels + " outside 1.." + MAX_CHANNELS)
    const readings: Reading[] = []
    for (let i = 0; i < count; i++) {
        const reading: Reading = []
        for (let c = 0; c < channels; c++) reading.push(0)
        readings.push(reading)
    }
    const present: number[] = []
    for (let c = 0; c < channels; c++) present.push(count)
    if (hasMissing) {
        const bytes = packedBytes(count * channels)
        const bitmap = new BitReader(r.data, r.offset, bytes, "missing-value bitmap")
        let missing = 0
        for (let i = 0; i < count; i++)
            for (let c = 0; c < channels; c++)
                if (bitmap.read(1) === 1) {
                    readings[i][c] = MISSING
                    present[c]--
                    missing++
                }
        bitmap.finish()
        if (missing === 0) throw new FormatError("missing-values flag set but no value is missing")
        r.offset += bytes
    }
    const firsts: number[] = []
    const widths: number[] = []
    for (let c = 0; c < channels; c++) {
        firsts.push(present[c] > 0 ? unzigzag(r.varint("first value")) : 0)
        widths.push(present[c] > 0 ? r.u8("delta width") : 0)
        if (widths[c] > 33 || (present[c] < 2 && widths[c] !== 0))
            throw new FormatError("channel " + c + ": invalid delta width " + widths[c])
    }
    let bits = 0
    for (let c = 0; c < channels; c++) bits += widths[c] * (present[c] > 0 ? present[c] - 1 : 0)
    const bytes = packedBytes(bits)
    const packed = new BitReader(r.data, r.offset, bytes, "packed deltas")
    for (let c = 0; c < channels; c++) {
        let prev: number = null
        let widest = 0
        for (let i = 0; i < count; i++) {
            if (readings[i][c] === MISSING) continue
            let v = firsts[c]
            if (prev !== null) {
                const z = packed.read(widths[c])
                const w = bitWidth(z)
                if (w > widest) widest = w
                v = prev + unzigzag(z)
            }
            if (v < MIN_READING || v > MAX_READING)
                throw new FormatError("channel " + c + ": value outside 32-bit range")
            readings[i][c] = v
            prev = v
        }
        if (widest !== widths[c])
            throw new FormatError("channel " + c + ": delta width " + widths[c] + " is not minimal")
    }
    packed.finish()
    r.offset += bytes
    return readings
}
