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

function channelCountError(channelCount: number): RangeError {
    return new RangeError("a reading needs exactly " + channelCount + " channel values")
}

function valueError(channel: number, value: any): RangeError {
    return new RangeError("channel " + channel + ": value must be a 32-bit integer or MISSING, got " + value)
}

/**
 * Rejects anything but int32 or MISSING, naming the channel. The test per value is a single
 * `(v | 0) === v`: true exactly for the numbers in MIN_READING..MAX_READING without a
 * fraction (not for 2^31, 1.5, NaN or "1"), and cheap on the device.
 */
export function checkReading(reading: Reading, channelCount: number) {
    if (!reading || reading.length !== channelCount) throw channelCountError(channelCount)
    for (let c = 0; c < channelCount; c++) {
        const v = reading[c]
        if ((v | 0) !== v && v != null) throw valueError(c, v)
    }
}

/**
 * Collects the readings of the open block and knows, at every step, how many bytes its
 * body would take: the ledger uses that to seal before a block outgrows one settings value.
 *
 * The device adds one reading per fiber run, must encode a full block within one run's op
 * budget (docs/DEVICESCRIPT.md, Runtime), and pays for every bytecode op, so each value is touched as few
 * times as possible:
 * - `tryAdd` checks, adds and sizes a reading in one pass over its channels; the rare
 *   reading that does not fit (once per full block) or is invalid is taken out again;
 * - what the encoder needs is kept as it will be written: per channel the first value, the
 *   delta width and the zigzag deltas in order, and the missing values as their positions
 *   in the bitmap. Encoding is then a bit-packing loop over each channel's deltas;
 * - the ledger keeps one builder and `clear`s it for each block: its arrays keep their
 *   room, and a value is stored by index rather than pushed (an array that grows
 *   allocates, and allocations are what takes the device's time: cost notes in bytes.ts).
 *   The counts say how much of each array is in use.
 */
export class ReadingsBuilder {
    private n = 0
    /** Per channel: present values so far, the first and the latest of them. */
    private readonly present: number[] = []
    private readonly first: number[] = []
    private readonly last: number[] = []
    /**
     * Per channel: the delta width of the block so far, and its zigzag deltas in reading
     * order (present - 1 of them in use).
     */
    private readonly width: number[] = []
    private readonly deltas: number[][] = []
    /** Reading-major positions (reading * channelCount + channel) of the missing values, ascending. */
    private readonly missing: number[] = []
    private missingCount = 0
    /** Bytes of the first values and widths of the channels with a present value. */
    private firstBytes = 0
    /** Sum over channels of width * (present - 1): the packed deltas' length in bits. */
    private bits = 0
    /** The channels (bit c) whose width the latest `tryAdd` raised, and their widths before, for `undo`. */
    private widened = 0
    private readonly oldWidth: number[] = []

    constructor(readonly channelCount: number) {
        if (channelCount < 1 || channelCount > MAX_CHANNELS)
            throw new RangeError("channelCount must be 1.." + MAX_CHANNELS)
        for (let c = 0; c < channelCount; c++) {
            this.present.push(0)
            this.first.push(0)
            this.last.push(0)
            this.width.push(0)
            this.deltas.push([])
            this.oldWidth.push(0)
        }
    }

    count(): number {
        return this.n
    }

    hasMissing(): boolean {
        return this.missingCount > 0
    }

    /** Empties the builder for a new block, keeping the room its arrays have grown. */
    clear() {
        for (let c = 0; c < this.channelCount; c++) {
            this.present[c] = 0
            this.width[c] = 0
        }
        this.n = 0
        this.missingCount = 0
        this.firstBytes = 0
        this.bits = 0
    }

    /** Body size in bytes now, or after `next` were added (without adding it). */
    bodySize(next?: Reading): number {
        if (next) {
            const firstBytes = this.firstBytes
            const bits = this.bits
            this.add(next)
            const size = this.bodySize()
            this.n--
            this.undo(next, this.channelCount)
            this.firstBytes = firstBytes
            this.bits = bits
            return size
        }
        const missingBytes = this.missingCount > 0 ? packedBytes(this.n * this.channelCount) : 0
        return 1 + this.firstBytes + missingBytes + packedBytes(this.bits)
    }

    /** Adds a reading whatever its size; a RangeError (nothing added) if it is not a valid reading. */
    add(reading: Reading) {
        this.tryAdd(reading, Infinity)
    }

    /**
     * Adds `reading` if the body then takes at most `maxBytes` and returns true; returns false
     * (nothing added) otherwise. A RangeError naming the channel (nothing added) for a value
     * that is neither int32 nor MISSING.
     *
     * The ledger's hot path: one pass over the channels that checks, adds and sizes each
     * value, with the per-channel state in locals; written out in one method because every
     * call allocates a frame on the device (see the cost notes in bytes.ts).
     */
    tryAdd(reading: Reading, maxBytes: number): boolean {
        const channels = this.channelCount
        if (!reading || reading.length !== channels) throw channelCountError(channels)
        const present = this.present
        const last = this.last
        const width = this.width
        const base = this.n * channels
        let firstBytes = this.firstBytes
        let bits = this.bits
        this.widened = 0
        for (let c = 0; c < channels; c++) {
            const v = reading[c]
            // One test for the common case, a valid value (see checkReading).
            if ((v | 0) !== v) {
                if (v == null) {
                    this.missing[this.missingCount++] = base + c
                    continue
                }
                this.undo(reading, c)
                throw valueError(c, v)
            }
            const p = present[c]
            present[c] = p + 1
            if (p === 0) {
                // The channel's first value: a zigzag varint and the width byte.
                this.first[c] = v
                last[c] = v
                firstBytes += varintLength(zigzag(v)) + 1
                continue
            }
            const d = v - last[c]
            last[c] = v
            const z = d >= 0 ? d * 2 : -d * 2 - 1
            this.deltas[c][p - 1] = z
            const w = width[c]
            if (z < POW2[w]) bits += w
            else {
                // A wider delta widens every earlier delta of the channel too.
                const wider = bitWidth(z)
                this.oldWidth[c] = w
                this.widened |= 1 << c
                width[c] = wider
                bits += wider * p - w * (p - 1)
            }
        }
        const missingBytes = this.missingCount > 0 ? packedBytes((this.n + 1) * channels) : 0
        if (1 + firstBytes + missingBytes + packedBytes(bits) > maxBytes) {
            this.undo(reading, channels)
            return false
        }
        this.firstBytes = firstBytes
        this.bits = bits
        this.n++
        return true
    }

    /**
     * Takes channels 0..upTo-1 of `reading`, just added by `tryAdd` as reading number `n`
     * (not yet counted), out again. `firstBytes` and `bits` are the caller's to restore.
     */
    private undo(reading: Reading, upTo: number) {
        const base = this.n * this.channelCount
        while (this.missingCount > 0 && this.missing[this.missingCount - 1] >= base) this.missingCount--
        for (let c = 0; c < upTo; c++) {
            const v = reading[c]
            if (v == null) continue
            const p = this.present[c] - 1
            this.present[c] = p
            // Its delta, if it had one, was deltas[c][p - 1]: now out of use.
            if (p === 0) continue
            this.last[c] = v - unzigzag(this.deltas[c][p - 1])
            if ((this.widened & (1 << c)) !== 0) this.width[c] = this.oldWidth[c]
        }
    }

    /** The readings added so far (MISSING is null), rebuilt from the deltas. */
    readings(): Reading[] {
        const channels = this.channelCount
        const out: Reading[] = []
        const prev: number[] = []
        const cursor: number[] = []
        for (let c = 0; c < channels; c++) {
            prev.push(0)
            cursor.push(-1)
        }
        let m = 0
        for (let i = 0; i < this.n; i++) {
            const reading: Reading = []
            for (let c = 0; c < channels; c++) {
                if (m < this.missingCount && this.missing[m] === i * channels + c) {
                    reading.push(MISSING)
                    m++
                    continue
                }
                prev[c] = cursor[c] < 0 ? this.first[c] : prev[c] + unzigzag(this.deltas[c][cursor[c]])
                cursor[c]++
                reading.push(prev[c])
            }
            out.push(reading)
        }
        return out
    }

    /** Writes the data body (everything between header and tag). */
    encode(w: ByteWriter) {
        const channels = this.channelCount
        w.u8(channels)
        const missing = this.missing
        if (this.missingCount > 0) {
            // Reading-major, 1 = missing, MSB first: eight values to a byte.
            const bitmap = Buffer.alloc(packedBytes(this.n * channels))
            for (let m = 0; m < this.missingCount; m++) {
                const k = missing[m]
                bitmap[k >> 3] |= 128 >> (k & 7)
            }
            w.bytes(bitmap)
        }
        for (let c = 0; c < channels; c++) {
            if (this.present[c] === 0) continue
            const v = this.first[c]
            w.varint(v >= 0 ? v * 2 : -v * 2 - 1) // zigzag, written out to spare a call
            w.u8(this.width[c])
        }
        // Channel by channel; a width-0 channel (every delta 0) takes no bits. The writer is
        // sized exactly, so finish() hands its buffer over without a copy.
        const packed = new BitWriter(packedBytes(this.bits))
        for (let c = 0; c < channels; c++) {
            const deltas = this.present[c] - 1
            if (deltas > 0) packed.writeRun(this.deltas[c], this.width[c], deltas)
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
