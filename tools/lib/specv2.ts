/**
 * A second encoder of block format v2, written from docs/FORMAT.md alone: it imports nothing of
 * the shared codec (src/lib/), only node:crypto, and does its arithmetic its own way (bit
 * strings, brute-force coding choice over every k). tools/gen-vectors-v2.ts seals the v2 golden
 * vectors with the shared Ledger and stops unless this encoder gives the same bytes, block for
 * block, so the vectors check the specification, not just the code that wrote them.
 *
 * It also bends the rules on request (a forced coding, a forced seq or interval) to make the
 * malformed vectors: validly tagged blocks that only a strict decoder rejects.
 */
import { createHash, createHmac } from "node:crypto"

export interface SpecTime {
    boot: number
    uptimeMs: number
    unixTime?: number
}

export interface SpecChannel {
    name: string
    unit: string
    exponent: number
}

/** One reading: an int32 per channel, or null for a missing value. */
export type SpecReading = (number | null)[]

export interface SpecGap {
    reason: number
    lostReadings: number
    from: { boot: number; uptimeMs: number }
    lostBlocks: number
    firstLostSeq: number
    lastLostHash?: Buffer
}

/** "fieldledger/v2/tag", v1's "fieldledger/v1/tag" and "fieldledger/v1/evolve" (FORMAT.md, "Format v2" and "Keys and tags"). */
const TAG_LABEL = "fieldledger/v2/tag"
const TAG_LABEL_V1 = "fieldledger/v1/tag"
const EVOLVE_LABEL = "fieldledger/v1/evolve"
/** v2 coding byte of Rice(k): 64 + k. */
export const SPEC_RICE = 64

/** Unsigned LEB128: 7 bits at a time, low group first, 0x80 on every byte but the last. */
export function specVarint(v: number): number[] {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError("varint of " + v)
    const out: number[] = []
    while (v >= 128) {
        out.push((v % 128) + 128)
        v = Math.floor(v / 128)
    }
    out.push(v)
    return out
}

export function specZigzag(v: number): number {
    return v >= 0 ? 2 * v : -2 * v - 1
}

/** Bit length: 0 for 0, else floor(log2 z) + 1 (counted, not from Math.log2). */
export function specBitLength(z: number): number {
    let n = 0
    while (z >= 1) {
        z = Math.floor(z / 2)
        n++
    }
    return n
}

/** A bit stream as a string of '0' and '1', MSB-first; bytes() pads it with zeros. */
class BitString {
    bits = ""

    /** `value` in exactly `width` bits, most significant first. */
    fixed(value: number, width: number) {
        let s = ""
        for (let i = 0; i < width; i++) {
            s = (value % 2 === 1 ? "1" : "0") + s
            value = Math.floor(value / 2)
        }
        if (value !== 0) throw new RangeError("value does not fit " + width + " bits")
        this.bits += s
    }

    /** Rice(k): floor(z / 2^k) one bits, a zero bit, the low k bits of z. */
    rice(z: number, k: number) {
        const q = Math.floor(z / Math.pow(2, k))
        this.bits += "1".repeat(q) + "0"
        this.fixed(z - q * Math.pow(2, k), k)
    }

    bytes(): number[] {
        const padded = this.bits + "0".repeat((8 - (this.bits.length % 8)) % 8)
        const out: number[] = []
        for (let i = 0; i < padded.length; i += 8) out.push(parseInt(padded.slice(i, i + 8), 2))
        return out
    }
}

/** The bits each candidate coding takes for these zigzag deltas: fixed width W, Rice(k) for k < W. */
export function specCodingCosts(zs: number[]): { code: number; bits: number }[] {
    const w = zs.reduce((m, z) => Math.max(m, specBitLength(z)), 0)
    const out = [{ code: w, bits: zs.length * w }]
    for (let k = 0; k < w; k++) {
        const s = zs.reduce((sum, z) => sum + Math.floor(z / Math.pow(2, k)), 0)
        out.push({ code: SPEC_RICE + k, bits: s + zs.length * (k + 1) })
    }
    return out
}

/** The writer's choice: the fewest bits; on a tie fixed width, then the smallest k (the list is in that order). */
export function specChooseCoding(zs: number[]): number {
    let best = specCodingCosts(zs)[0]
    for (const c of specCodingCosts(zs)) if (c.bits < best.bits) best = c
    return best.code
}

function str(text: string, max: number): number[] {
    const bytes = [...Buffer.from(text, "utf8")]
    if (bytes.length > max) throw new RangeError('"' + text + '" is over ' + max + " bytes")
    return [bytes.length, ...bytes]
}

/**
 * Lets a malformed vector break one header rule; everything else is computed from the block.
 * `v1Link` writes a v1 header instead (version 1, the link after the seq), for the v1 blocks
 * of a chain that steps from v1 to v2.
 */
export interface HeaderOverride {
    v1Link?: Buffer
    version?: number
    type?: number
    /** ORed into the flags. */
    extraFlags?: number
    seq?: number
    intervalMs?: number
    readingCount?: number
}

export function specHeader(
    type: number,
    seq: number,
    time: SpecTime,
    intervalMs: number,
    readingCount: number,
    missing: boolean,
    o: HeaderOverride = {}
): number[] {
    const unix = time.unixTime !== undefined
    const flags = (unix ? 1 : 0) | (missing ? 2 : 0) | (o.extraFlags ?? 0)
    const out = [o.version ?? (o.v1Link ? 1 : 2), o.type ?? type, flags, ...specVarint(o.seq ?? seq)]
    if (o.v1Link) out.push(...o.v1Link)
    out.push(...specVarint(time.boot), ...specVarint(time.uptimeMs))
    if (unix) out.push(...specVarint(time.unixTime!))
    out.push(...specVarint(o.intervalMs ?? intervalMs), ...specVarint(o.readingCount ?? readingCount))
    return out
}

/** A v2 genesis block's content: header, then link, device id, firmware, board, channels. */
export function specGenesis(
    time: SpecTime,
    intervalMs: number,
    link: Buffer,
    deviceId: Buffer,
    firmware: string | Buffer,
    board: string,
    channels: SpecChannel[],
    o: HeaderOverride = {}
): Buffer {
    const out = specHeader(0, 0, time, intervalMs, 0, false, o)
    // v2 opens the body with the link; v1 has it in the header.
    if (!o.v1Link) out.push(...link)
    out.push(...deviceId)
    // A Buffer firmware is written as it is (a malformed vector's invalid UTF-8).
    if (typeof firmware === "string") out.push(...str(firmware, 24))
    else out.push(firmware.length, ...firmware)
    out.push(...str(board, 24), channels.length)
    for (const c of channels) out.push(...str(c.name, 16), ...str(c.unit, 8), c.exponent < 0 ? c.exponent + 256 : c.exponent)
    return Buffer.from(out)
}

export function specGapBody(g: SpecGap): number[] {
    const out = [g.reason, ...specVarint(g.lostReadings), ...specVarint(g.from.boot), ...specVarint(g.from.uptimeMs)]
    out.push(...specVarint(g.lostBlocks))
    if (g.lostBlocks > 0) out.push(...specVarint(g.firstLostSeq), ...g.lastLostHash!)
    return out
}

export function specGap(seq: number, time: SpecTime, intervalMs: number, g: SpecGap, o: HeaderOverride = {}): Buffer {
    return Buffer.from([...specHeader(2, seq, time, intervalMs, 0, false, o), ...specGapBody(g)])
}

/** What the data body holds per channel, for the annotations and the coverage checks. */
export interface SpecChannelCoding {
    /** Present values. */
    present: number
    /** Zigzag deltas between consecutive present values. */
    zigzags: number[]
    /** The coding byte written (absent: no present value, no byte). */
    code?: number
}

/**
 * A data body: channel count, missing bitmap (reading-major, 1 = missing) when a value is
 * missing, each channel's first value and coding byte, the deltas channel by channel in their
 * coding, zero padding. `forceCodes[c]`, when given, replaces the writer's choice. `v1`: the
 * minimal fixed width only (v1's delta width byte).
 */
export function specDataBody(
    readings: SpecReading[],
    channelCount: number,
    forceCodes?: (number | undefined)[],
    v1 = false
): { body: number[]; channels: SpecChannelCoding[] } {
    const body = [channelCount]
    if (readings.some(r => r.some(v => v === null))) {
        const bitmap = new BitString()
        for (const r of readings) for (const v of r) bitmap.bits += v === null ? "1" : "0"
        body.push(...bitmap.bytes())
    }
    const channels: SpecChannelCoding[] = []
    const stream = new BitString()
    for (let c = 0; c < channelCount; c++) {
        const values = readings.map(r => r[c]).filter(v => v !== null) as number[]
        const zigzags = values.slice(1).map((v, i) => specZigzag(v - values[i]))
        const info: SpecChannelCoding = { present: values.length, zigzags }
        channels.push(info)
        if (values.length === 0) continue
        const widest = zigzags.reduce((m, z) => Math.max(m, specBitLength(z)), 0)
        const code = forceCodes?.[c] ?? (zigzags.length === 0 ? 0 : v1 ? widest : specChooseCoding(zigzags))
        info.code = code
        body.push(...specVarint(specZigzag(values[0])), code)
    }
    for (const info of channels) {
        if (info.code === undefined) continue
        for (const z of info.zigzags) {
            if (info.code >= SPEC_RICE) stream.rice(z, info.code - SPEC_RICE)
            else stream.fixed(z, info.code)
        }
    }
    body.push(...stream.bytes())
    return { body, channels }
}

export function specData(
    seq: number,
    time: SpecTime,
    intervalMs: number,
    readings: SpecReading[],
    channelCount: number,
    o: HeaderOverride = {},
    forceCodes?: (number | undefined)[]
): { content: Buffer; channels: SpecChannelCoding[] } {
    const missing = readings.some(r => r.some(v => v === null))
    const { body, channels } = specDataBody(readings, channelCount, forceCodes, !!o.v1Link)
    return { content: Buffer.from([...specHeader(1, seq, time, intervalMs, readings.length, missing, o), ...body]), channels }
}

/**
 * v2: tag = HMAC-SHA256(K_seq, "fieldledger/v2/tag" || deviceId || link || content)[0..16);
 * a content whose version byte is 1: HMAC-SHA256(K_seq, "fieldledger/v1/tag" || deviceId || content)[0..16).
 */
export function specTag(key: Buffer, deviceId: Buffer, link: Buffer, content: Buffer): Buffer {
    const mac = createHmac("sha256", key)
    if (content[0] === 1) mac.update(TAG_LABEL_V1).update(deviceId)
    else mac.update(TAG_LABEL).update(deviceId).update(link)
    return mac.update(content).digest().subarray(0, 16)
}

/** The v2 block hash, SHA-256(link || block); a v1 block's is SHA-256(block). */
export function specHash(link: Buffer, block: Buffer): Buffer {
    const h = createHash("sha256")
    if (block[0] !== 1) h.update(link)
    return h.update(block).digest()
}

/** K_(n+1) = HMAC-SHA256(K_n, "fieldledger/v1/evolve" || deviceId || u32le(n)). */
export function specEvolve(key: Buffer, deviceId: Buffer, seq: number): Buffer {
    const n = Buffer.alloc(4)
    n.writeUInt32LE(seq)
    return createHmac("sha256", key).update(EVOLVE_LABEL).update(deviceId).update(n).digest()
}

/** content || tag, and its hash. */
export function specSeal(key: Buffer, deviceId: Buffer, link: Buffer, content: Buffer): { bytes: Buffer; hash: Buffer } {
    const bytes = Buffer.concat([content, specTag(key, deviceId, link, content)])
    return { bytes, hash: specHash(link, bytes) }
}
