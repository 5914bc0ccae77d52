/**
 * Block formats v1 and v2: constants, the common header, and the genesis and gap record bodies.
 * docs/FORMAT.md is the specification; this module is its executable form, shared by the
 * firmware and the Node tools (pure: no I/O, no `@devicescript/*` import).
 *
 * Writers seal v2; readers accept both. v2 drops the stored link from the header (the tag and
 * the block hash bind it instead, see chain.ts); a v2 genesis block carries its link in its body,
 * as no block before it in the chain gives it.
 */
import { ByteReader, ByteWriter, FormatError, MAX_VARINT, varintLength } from "./bytes"

/** The version writers seal. */
export const FORMAT_VERSION = 2
export const FORMAT_V1 = 1
export const FORMAT_V2 = 2

/** Record types (header byte 1). */
export const RECORD_GENESIS = 0
export const RECORD_DATA = 1
export const RECORD_GAP = 2
/**
 * Each record type's name, indexed by its number: what the firmware's `fl:block` lines, the
 * tools and the gateway's JSON call it.
 */
export const RECORD_NAMES = ["genesis", "data", "gap", "checkpoint"]
/**
 * v2 only: a signed checkpoint (docs/FORMAT.md, "Checkpoint body"; its body is encoded and
 * decoded in src/lib/ledger/chain.ts, its signed message built in signedcheckpoint.ts). Not the
 * open block's periodic save to flash, which is also called a checkpoint.
 */
export const RECORD_CHECKPOINT = 3

/** Header flags (byte 2); every other bit must be zero. */
export const FLAG_UNIX_TIME = 1
export const FLAG_MISSING_VALUES = 2
/** Reserved (v2) for encrypted readings; a decoder of this version rejects it. */
export const FLAG_ENCRYPTED_RESERVED = 4
const KNOWN_FLAGS = FLAG_UNIX_TIME | FLAG_MISSING_VALUES

export const DEVICE_ID_BYTES = 8
export const KEY_BYTES = 32
export const LINK_BYTES = 32
export const TAG_BYTES = 16
/** Largest sealed block: one settings value (232 bytes with its key) with margin. */
export const MAX_BLOCK_BYTES = 200
export const MAX_CHANNELS = 8
export const MAX_READINGS_PER_BLOCK = 255
export const MAX_SEQ = 4294967295
export const MAX_BOOT = 4294967295
/** Readings are signed 32-bit fixed-point integers. */
export const MIN_READING = -2147483648
export const MAX_READING = 2147483647

export const MAX_NAME_BYTES = 16
export const MAX_UNIT_BYTES = 8
export const MAX_VERSION_BYTES = 24
export const MAX_EXPONENT = 9

/** Why a gap record was sealed. */
export const GAP_BACKLOG_FULL = 1
export const GAP_POWER_LOSS = 2
export const GAP_SAMPLING_STOPPED = 3
export const GAP_REASONS = ["", "backlog-full", "power-loss", "sampling-stopped"]

/** When a block's first reading (or its event) happened. */
export interface BlockTime {
    /** Boot counter: increments at every start of the firmware. */
    boot: number
    /** Milliseconds since that boot. */
    uptimeMs: number
    /** Unix time in seconds, once the device has learned it from a gateway. */
    unixTime?: number
}

export interface BlockHeader {
    version: number
    type: number
    flags: number
    seq: number
    /**
     * The hash of the previous block (genesis: the previous chain's head, or zeros). Stored in
     * every v1 block; in v2 only a genesis block stores it (in its body, copied here): for any
     * other v2 block it is undefined, known only from the block before.
     */
    link: Buffer
    time: BlockTime
    intervalMs: number
    readingCount: number
}

/** One channel of the layout declared in the genesis block. */
export interface ChannelSpec {
    /** What is measured, e.g. "temperature". */
    name: string
    /** Unit of the scaled value, e.g. "degC". */
    unit: string
    /** Decimal exponent: stored integer x means x * 10^exponent units. */
    exponent: number
}

export interface GenesisBody {
    /** v2 only, written first in the body: the previous chain's head, or 32 zero bytes (v1 keeps it in the header). */
    link?: Buffer
    deviceId: Buffer
    firmware: string
    board: string
    channels: ChannelSpec[]
}

export interface GapBody {
    reason: number
    /** Readings lost (for power loss: an upper bound, see FORMAT.md). */
    lostReadings: number
    /** First seq that was sealed and then dropped; meaningful when lostBlocks > 0. */
    firstLostSeq: number
    lostBlocks: number
    /** SHA-256 of the last dropped block, so the block after it still links. */
    lastLostHash?: Buffer
    /** Start of the loss. */
    from: BlockTime
}

function checkUint(value: number, max: number, what: string) {
    if (typeof value !== "number" || value < 0 || value > max || Math.floor(value) !== value)
        throw new RangeError(what + " must be an integer in 0.." + max + ", got " + value)
}

export function writeHeader(w: ByteWriter, h: BlockHeader) {
    checkUint(h.seq, MAX_SEQ, "seq")
    checkUint(h.time.boot, MAX_BOOT, "boot")
    const v1 = h.version === FORMAT_V1
    if (v1 && h.link.length !== LINK_BYTES) throw new RangeError("link must be " + LINK_BYTES + " bytes")
    if (h.readingCount > MAX_READINGS_PER_BLOCK) throw new RangeError("too many readings: " + h.readingCount)
    const hasUnix = h.time.unixTime !== undefined && h.time.unixTime !== null
    const flags = (h.flags & ~FLAG_UNIX_TIME) | (hasUnix ? FLAG_UNIX_TIME : 0)
    w.u8(h.version).u8(h.type).u8(flags).varint(h.seq)
    if (v1) w.bytes(h.link)
    w.varint(h.time.boot).varint(h.time.uptimeMs)
    if (hasUnix) w.varint(h.time.unixTime)
    w.varint(h.intervalMs).varint(h.readingCount)
}

/** Encoded size of a header with these fields, without encoding it (v2 unless `version` says 1). */
export function headerSize(seq: number, time: BlockTime, intervalMs: number, readingCount: number, version?: number): number {
    let n = 3 + varintLength(seq) + (version === FORMAT_V1 ? LINK_BYTES : 0) + varintLength(time.boot) + varintLength(time.uptimeMs)
    if (time.unixTime !== undefined && time.unixTime !== null) n += varintLength(time.unixTime)
    return n + varintLength(intervalMs) + varintLength(readingCount)
}

export function readHeader(r: ByteReader): BlockHeader {
    const version = r.u8("version")
    if (version !== FORMAT_V1 && version !== FORMAT_V2) throw new FormatError("unsupported format version " + version)
    const v2 = version === FORMAT_V2
    const type = r.u8("type")
    // Types are numbered from 0 without holes: one comparison (device code is scarce).
    if (type > (v2 ? RECORD_CHECKPOINT : RECORD_GAP)) throw new FormatError("unknown record type " + type)
    const flags = r.u8("flags")
    if (v2 && (flags & FLAG_ENCRYPTED_RESERVED) !== 0)
        throw new FormatError("flag bit 2 (encrypted readings) is reserved and not yet defined")
    if ((flags & ~KNOWN_FLAGS) !== 0) throw new FormatError("unknown flag bits " + flags)
    const seq = r.varint("seq")
    if (seq > MAX_SEQ) throw new FormatError("seq out of range")
    if (type === RECORD_GENESIS && seq !== 0) throw new FormatError("a genesis block must have seq 0")
    const link = v2 ? undefined : r.bytes(LINK_BYTES, "link")
    const boot = r.varint("boot")
    if (boot > MAX_BOOT) throw new FormatError("boot counter out of range")
    const uptimeMs = r.varint("uptime")
    const time: BlockTime = { boot, uptimeMs }
    if (flags & FLAG_UNIX_TIME) time.unixTime = r.varint("unix time")
    const intervalMs = r.varint("interval")
    if ((type === RECORD_DATA || v2) && intervalMs === 0)
        throw new FormatError("a sample interval of 0 (v2: on any record; v1: on a data block)")
    const readingCount = r.varint("reading count")
    if (readingCount > MAX_READINGS_PER_BLOCK) throw new FormatError("reading count over " + MAX_READINGS_PER_BLOCK)
    if (type === RECORD_DATA ? readingCount === 0 : readingCount !== 0)
        throw new FormatError("reading count " + readingCount + " invalid for record type " + type)
    // v2: the last reading's time must be a varint value too (FORMAT.md, "Reading times").
    if (v2 && readingCount > 1) {
        const span = (readingCount - 1) * intervalMs
        if (uptimeMs + span > MAX_VARINT || (time.unixTime !== undefined && time.unixTime + Math.ceil(span / 1000) > MAX_VARINT))
            throw new FormatError("the last reading's time is beyond 2^53 - 1")
    }
    if (type !== RECORD_DATA && (flags & FLAG_MISSING_VALUES) !== 0)
        throw new FormatError("missing-values flag on a record without readings")
    return { version, type, flags, seq, link, time, intervalMs, readingCount }
}

export function checkChannels(channels: ChannelSpec[]) {
    if (channels.length < 1 || channels.length > MAX_CHANNELS) throw new RangeError("channel count must be 1.." + MAX_CHANNELS)
    for (const c of channels) {
        if (Buffer.from(c.name).length > MAX_NAME_BYTES || Buffer.from(c.unit).length > MAX_UNIT_BYTES)
            throw new RangeError("channel name must be at most " + MAX_NAME_BYTES + " bytes and unit " + MAX_UNIT_BYTES + ": " + c.name)
        if (c.exponent < -MAX_EXPONENT || c.exponent > MAX_EXPONENT || Math.floor(c.exponent) !== c.exponent)
            throw new RangeError("channel exponent must be an integer in -9..9: " + c.name)
    }
}

export function writeGenesisBody(w: ByteWriter, g: GenesisBody, version?: number) {
    if (version !== FORMAT_V1) {
        if (!g.link || g.link.length !== LINK_BYTES) throw new RangeError("a v2 genesis block needs its " + LINK_BYTES + "-byte link")
        w.bytes(g.link)
    }
    if (g.deviceId.length !== DEVICE_ID_BYTES) throw new RangeError("deviceId must be " + DEVICE_ID_BYTES + " bytes")
    checkChannels(g.channels)
    w.bytes(g.deviceId)
    w.shortString(g.firmware, MAX_VERSION_BYTES)
    w.shortString(g.board, MAX_VERSION_BYTES)
    w.u8(g.channels.length)
    for (const c of g.channels) {
        w.shortString(c.name, MAX_NAME_BYTES)
        w.shortString(c.unit, MAX_UNIT_BYTES)
        w.i8(c.exponent)
    }
}

export function readGenesisBody(r: ByteReader, version: number): GenesisBody {
    const link = version === FORMAT_V1 ? undefined : r.bytes(LINK_BYTES, "genesis link")
    const deviceId = r.bytes(DEVICE_ID_BYTES, "device id")
    const firmware = r.shortString(MAX_VERSION_BYTES, "firmware version")
    const board = r.shortString(MAX_VERSION_BYTES, "board")
    const count = r.u8("channel count")
    if (count < 1 || count > MAX_CHANNELS) throw new FormatError("channel count " + count + " outside 1.." + MAX_CHANNELS)
    const channels: ChannelSpec[] = []
    for (let i = 0; i < count; i++) {
        const name = r.shortString(MAX_NAME_BYTES, "channel name")
        const unit = r.shortString(MAX_UNIT_BYTES, "channel unit")
        const exponent = r.i8("channel exponent")
        if (exponent < -MAX_EXPONENT || exponent > MAX_EXPONENT) throw new FormatError("channel exponent " + exponent + " outside -9..9")
        channels.push({ name, unit, exponent })
    }
    const g: GenesisBody = { deviceId, firmware, board, channels }
    if (link) g.link = link
    return g
}

export function writeGapBody(w: ByteWriter, g: GapBody) {
    if (g.reason < GAP_BACKLOG_FULL || g.reason >= GAP_REASONS.length) throw new RangeError("unknown gap reason " + g.reason)
    checkUint(g.from.boot, MAX_BOOT, "gap start boot")
    w.u8(g.reason).varint(g.lostReadings)
    w.varint(g.from.boot).varint(g.from.uptimeMs)
    w.varint(g.lostBlocks)
    if (g.lostBlocks > 0) {
        checkUint(g.firstLostSeq, MAX_SEQ, "first lost seq")
        checkUint(g.firstLostSeq + g.lostBlocks - 1, MAX_SEQ, "last lost seq")
        if (!g.lastLostHash || g.lastLostHash.length !== LINK_BYTES)
            throw new RangeError("a gap that drops blocks needs the last dropped block's hash")
        w.varint(g.firstLostSeq).bytes(g.lastLostHash)
    }
}

export function readGapBody(r: ByteReader): GapBody {
    const reason = r.u8("gap reason")
    if (reason < GAP_BACKLOG_FULL || reason >= GAP_REASONS.length) throw new FormatError("unknown gap reason " + reason)
    const lostReadings = r.varint("lost readings")
    const from: BlockTime = {
        boot: r.varint("gap start boot"),
        uptimeMs: r.varint("gap start uptime"),
    }
    if (from.boot > MAX_BOOT) throw new FormatError("gap start boot counter out of range")
    const lostBlocks = r.varint("lost blocks")
    const gap: GapBody = { reason, lostReadings, from, lostBlocks, firstLostSeq: 0 }
    if (lostBlocks > 0) {
        gap.firstLostSeq = r.varint("first lost seq")
        if (gap.firstLostSeq + lostBlocks - 1 > MAX_SEQ) throw new FormatError("lost seq range out of bounds")
        gap.lastLostHash = r.bytes(LINK_BYTES, "last lost hash")
    }
    return gap
}
