/**
 * The readings codec: the body of a data block (FORMAT.md, "Data body").
 *
 * Per channel: the first present value as a zigzag varint, then every later present value as
 * the zigzag delta from the previous one. v1 bit-packs the deltas at the smallest width that
 * fits the block's largest delta on that channel; v2 picks per channel and block the cheaper of
 * that and a Rice code (parameter k), which fits a channel that is mostly still and sometimes
 * jumps. Missing values (sensor fault) are marked in a bitmap that exists only when some value
 * is missing, so a healthy block pays nothing for it.
 */
import { bitWidth, BitWriter, packedBytes, POW2, readBits } from "./bitpack"
import { ByteReader, ByteWriter, FormatError, unzigzag, varintLength, zigzag } from "./bytes"
import { FORMAT_V1, MAX_CHANNELS, MAX_READING, MIN_READING } from "./format"

/** v2 coding byte: 0..33 fixed width; RICE + k (k = 0..32) a Rice code with parameter k. */
export const RICE = 64
/** Widest zigzag delta (2^33 - 2) needs 33 bits. */
const MAX_WIDTH = 33

/**
 * The v2 coding of a channel's deltas (FORMAT.md, "Channel coding"): the fewest bits, fixed
 * width on a tie, then the smallest k. `n` deltas, widest `width` bits, `sums[k]` = the sum of
 * floor(z / 2^k) over the deltas. Rice costs are convex in k, so the search stops once they rise.
 * Returns the coding byte; its cost is `codingBits`.
 */
export function chooseCoding(n: number, width: number, sums: number[]): number {
    let best = n * width
    let code = width
    let prev = 0
    for (let k = 0; k < width; k++) {
        const cost = sums[k] + n * (k + 1)
        if (cost < best) {
            best = cost
            code = RICE + k
        }
        if (k > 0 && cost > prev) break
        prev = cost
    }
    return code
}

/** Bits the coding `code` takes for `n` deltas with these Rice sums. */
export function codingBits(code: number, n: number, sums: number[]): number {
    return code < RICE ? n * code : sums[code - RICE] + n * (code - RICE + 1)
}

/** Adds (sign 1) or takes out (sign -1) floor(z / 2^k) for every k where it is not 0. */
function addRiceSums(sums: number[], z: number, sign: number) {
    let k = 0
    while (z > 0) {
        sums[k] += sign * z
        z = Math.floor(z / 2)
        k++
    }
}

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
    /**
     * v2: per channel its coding byte, the bits it takes, and the Rice sums
     * (sums[c][k] = sum of floor(z / 2^k) over its deltas); `bits2` is their total.
     */
    private readonly coding: number[] = []
    private readonly codedBits: number[] = []
    private readonly sums: number[][] = []
    private bits2 = 0

    /** `version`: the format whose size `tryAdd` and `bodySize` count (encode takes its own). */
    constructor(
        readonly channelCount: number,
        readonly version?: number
    ) {
        if (channelCount < 1 || channelCount > MAX_CHANNELS) throw new RangeError("channelCount must be 1.." + MAX_CHANNELS)
        for (let c = 0; c < channelCount; c++) {
            this.present.push(0)
            this.first.push(0)
            this.last.push(0)
            this.width.push(0)
            this.deltas.push([])
            this.oldWidth.push(0)
            this.coding.push(0)
            this.codedBits.push(0)
            const sums: number[] = []
            for (let k = 0; k <= MAX_WIDTH; k++) sums.push(0)
            this.sums.push(sums)
        }
    }

    private isV1(): boolean {
        return this.version === FORMAT_V1
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
            this.coding[c] = 0
            this.codedBits[c] = 0
            const sums = this.sums[c]
            for (let k = 0; k <= MAX_WIDTH; k++) sums[k] = 0
        }
        this.n = 0
        this.missingCount = 0
        this.firstBytes = 0
        this.bits = 0
        this.bits2 = 0
    }

    /** Body size in bytes now, or after `next` were added (without adding it). */
    bodySize(next?: Reading): number {
        if (next) {
            const firstBytes = this.firstBytes
            const bits = this.bits
            const bits2 = this.bits2
            this.add(next)
            const size = this.bodySize()
            this.n--
            this.undo(next, this.channelCount)
            this.firstBytes = firstBytes
            this.bits = bits
            this.bits2 = bits2
            return size
        }
        const missingBytes = this.missingCount > 0 ? packedBytes(this.n * this.channelCount) : 0
        return 1 + this.firstBytes + missingBytes + packedBytes(this.isV1() ? this.bits : this.bits2)
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
        const coding = this.coding
        const codedBits = this.codedBits
        let firstBytes = this.firstBytes
        let bits = this.bits
        let bits2 = this.bits2
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
            let w = width[c]
            if (z < POW2[w]) bits += w
            else {
                // A wider delta widens every earlier delta of the channel too.
                const wider = bitWidth(z)
                this.oldWidth[c] = w
                this.widened |= 1 << c
                width[c] = wider
                bits += wider * p - w * (p - 1)
                w = wider
            }
            // v2: the Rice sums take floor(z / 2^k) for each k below z's width (a loop of
            // that many steps, in place: no call), then the channel's cheapest coding is
            // found again over its p deltas (chooseCoding, written out for the same reason).
            const sums = this.sums[c]
            if (z < 1073741824) {
                let q = z
                let k = 0
                while (q > 0) {
                    sums[k] += q
                    q = q >> 1
                    k++
                }
            } else addRiceSums(sums, z, 1)
            let best = p * w
            let code = w
            let prev = 0
            for (let k = 0; k < w; k++) {
                const cost = sums[k] + p * (k + 1)
                if (cost < best) {
                    best = cost
                    code = RICE + k
                }
                if (k > 0 && cost > prev) break
                prev = cost
            }
            bits2 += best - codedBits[c]
            codedBits[c] = best
            coding[c] = code
        }
        const missingBytes = this.missingCount > 0 ? packedBytes((this.n + 1) * channels) : 0
        if (1 + firstBytes + missingBytes + packedBytes(this.version === FORMAT_V1 ? bits : bits2) > maxBytes) {
            this.undo(reading, channels)
            return false
        }
        this.firstBytes = firstBytes
        this.bits = bits
        this.bits2 = bits2
        this.n++
        return true
    }

    /**
     * Takes channels 0..upTo-1 of `reading`, just added by `tryAdd` as reading number `n`
     * (not yet counted), out again. `firstBytes`, `bits` and `bits2` are the caller's to restore.
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
            const z = this.deltas[c][p - 1]
            this.last[c] = v - unzigzag(z)
            if ((this.widened & (1 << c)) !== 0) this.width[c] = this.oldWidth[c]
            addRiceSums(this.sums[c], z, -1)
            const n = p - 1
            this.coding[c] = n > 0 ? chooseCoding(n, this.width[c], this.sums[c]) : 0
            this.codedBits[c] = n > 0 ? codingBits(this.coding[c], n, this.sums[c]) : 0
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

    /** Writes the data body (everything between header and tag) of format `version` (v2 unless 1). */
    encode(w: ByteWriter, version?: number) {
        const v1 = version === FORMAT_V1
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
            w.u8(v1 ? this.width[c] : this.coding[c])
        }
        // Channel by channel; a width-0 channel (every delta 0) takes no bits. The writer is
        // sized exactly, so finish() hands its buffer over without a copy.
        const packed = new BitWriter(packedBytes(v1 ? this.bits : this.bits2))
        for (let c = 0; c < channels; c++) {
            const deltas = this.present[c] - 1
            if (deltas <= 0) continue
            const code = v1 ? this.width[c] : this.coding[c]
            if (code < RICE) packed.writeRun(this.deltas[c], code, deltas)
            else packed.writeRice(this.deltas[c], code - RICE, deltas)
        }
        w.bytes(packed.finish())
    }
}

/**
 * Decodes a data body of `count` readings and `hasMissing` from the header flags, in format
 * `version` (v2 unless 1). Strict: the canonical encoding is the only one accepted (minimal
 * widths, v2's cheapest coding, zero padding, no empty bitmap). `sealed` (an encrypted data
 * block): checks the channel count and the bitmap, which are in clear, skips the rest (only the
 * data key's holder can read it) and returns undefined.
 */
export function decodeReadings(r: ByteReader, count: number, hasMissing: boolean, version?: number, sealed?: boolean): Reading[] {
    const channels = r.u8("channel count")
    if (channels < 1 || channels > MAX_CHANNELS)
        throw new FormatError("data block channel count " + channels + " outside 1.." + MAX_CHANNELS)
    const present: number[] = []
    for (let c = 0; c < channels; c++) present.push(count)
    const bitmapAt = hasMissing ? readMissingBitmap(r, count, channels, present) : -1
    if (sealed) {
        r.offset = r.data.length
        return undefined
    }
    return decodeDeltas(r, count, channels, present, bitmapAt, version === FORMAT_V1)
}

/** Reads the missing-value bitmap, counting each channel's present values; returns where it starts. */
function readMissingBitmap(r: ByteReader, count: number, channels: number, present: number[]): number {
    const data = r.data
    const bytes = packedBytes(count * channels)
    if (r.offset + bytes > data.length) throw new FormatError("missing-value bitmap: packed values truncated")
    const bitmapAt = r.offset
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
    return bitmapAt
}

/** Whether bit `bit` of the stream starting at byte `start` is 1. */
function bitAt(data: Buffer, start: number, bit: number): boolean {
    return (data[start + (bit >> 3)] & (128 >> (bit & 7))) !== 0
}

/**
 * Each channel's first value and coding byte, then its deltas decoded channel by channel (a Rice
 * code has no fixed length, so a channel's deltas start where the previous channel's end), then
 * the readings assembled in reading order. Each channel's coding must be the one the encoder
 * picks (chooseCoding), so one content has one encoding. v1 is the same stream with only fixed
 * widths (its per-channel "delta width" byte is a v2 fixed-width code) and the minimal width as
 * its one encoding: one decoder serves both, which keeps the firmware's bytecode under the VM's
 * 64 KB of function code (docs/DEVICESCRIPT.md).
 */
function decodeDeltas(r: ByteReader, count: number, channels: number, present: number[], bitmapAt: number, v1: boolean): Reading[] {
    const data = r.data
    const firsts: number[] = []
    const codes: number[] = []
    for (let c = 0; c < channels; c++) {
        if (present[c] === 0) {
            firsts.push(0)
            codes.push(0)
            continue
        }
        const first = unzigzag(r.varint("first value"))
        const code = r.u8("channel coding")
        if (first < MIN_READING || first > MAX_READING) throw new FormatError("channel " + c + ": value outside 32-bit range")
        // v1 has only the fixed widths 0..33 (its "delta width" byte), v2 also Rice(k) at RICE + k.
        if (v1 ? code > MAX_WIDTH : (code > MAX_WIDTH && code < RICE) || code > RICE + MAX_WIDTH - 1)
            throw new FormatError("channel " + c + ": " + (v1 ? "invalid delta width " : "unknown coding ") + code)
        if (present[c] < 2 && code !== 0) throw new FormatError("channel " + c + ": coding " + code + " without deltas")
        firsts.push(first)
        codes.push(code)
    }
    const start = r.offset
    const limit = (data.length - start) * 8
    let bit = 0
    const values: number[][] = []
    const sums: number[] = []
    for (let k = 0; k <= MAX_WIDTH; k++) sums.push(0)
    for (let c = 0; c < channels; c++) {
        const out: number[] = []
        values.push(out)
        if (present[c] === 0) continue
        let v = firsts[c]
        out.push(v)
        const n = present[c] - 1
        if (n === 0) continue
        const code = codes[c]
        const k = code >= RICE ? code - RICE : 0
        let widest = 0
        for (let k2 = 0; k2 <= MAX_WIDTH; k2++) sums[k2] = 0
        for (let i = 0; i < n; i++) {
            let z = 0
            if (code < RICE) {
                if (bit + code > limit) throw new FormatError("packed deltas: packed values truncated")
                if (code > 24) z = readBits(data, start, bit, code - 24) * 16777216 + readBits(data, start, bit + code - 24, 24)
                else if (code > 0) z = readBits(data, start, bit, code)
                bit += code
            } else {
                // Unary quotient: at most as many steps as the block has bits.
                let q = 0
                while (bit < limit && (data[start + (bit >> 3)] & (128 >> (bit & 7))) !== 0) {
                    q++
                    bit++
                }
                if (bit + 1 + k > limit) throw new FormatError("packed deltas: packed values truncated")
                bit++
                let rest = 0
                if (k > 24) rest = readBits(data, start, bit, k - 24) * 16777216 + readBits(data, start, bit + k - 24, 24)
                else if (k > 0) rest = readBits(data, start, bit, k)
                bit += k
                z = q * POW2[k] + rest
            }
            v += unzigzag(z)
            if (v < MIN_READING || v > MAX_READING) throw new FormatError("channel " + c + ": value outside 32-bit range")
            out.push(v)
            if (z > widest) widest = z
            // Rice sums (see addRiceSums), in place: a call per value costs the device a frame.
            let q = z
            let k2 = 0
            while (q > 0) {
                sums[k2] += q
                q = q < 1073741824 ? q >> 1 : Math.floor(q / 2)
                k2++
            }
        }
        // One content, one encoding: v1's width is the minimal one, v2's coding the one chooseCoding picks.
        if ((v1 ? bitWidth(widest) : chooseCoding(n, bitWidth(widest), sums)) !== code)
            throw new FormatError(
                "channel " +
                    c +
                    ": " +
                    (v1 ? "delta width " + code + " is not minimal" : "coding " + code + " is not the cheapest (canonical) one")
            )
    }
    const bytes = packedBytes(bit)
    if (bit & 7 && (data[start + bytes - 1] & (255 >> (bit & 7))) !== 0) throw new FormatError("packed deltas: non-zero padding bits")
    r.offset += bytes
    const readings: Reading[] = []
    const cursor: number[] = []
    for (let c = 0; c < channels; c++) cursor.push(0)
    let m = 0
    for (let i = 0; i < count; i++) {
        const reading: Reading = []
        for (let c = 0; c < channels; c++) {
            if (bitmapAt >= 0 && bitAt(data, bitmapAt, m)) reading.push(MISSING)
            else reading.push(values[c][cursor[c]++])
            m++
        }
        readings.push(reading)
    }
    return readings
}
