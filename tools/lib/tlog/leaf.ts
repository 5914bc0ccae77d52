/**
 * A log entry: one block the gateway accepted (docs/FORMAT.md, "Log entry"). 47 bytes:
 * version (1) || device id (8) || chain (u16 BE: key successions before this chain) ||
 * seq (u32 BE) || block hash (32). Its leaf hash is RFC 9162's SHA-256(0x00 || entry).
 */
import { HASH_BYTES } from "./merkle"

export const LEAF_VERSION = 1
export const LEAF_BYTES = 1 + 8 + 2 + 4 + HASH_BYTES
export const MAX_CHAIN = 0xffff

export interface LeafEntry {
    /** 16 lower-case hex digits. */
    deviceId: string
    chain: number
    seq: number
    /** The block's hash (its v2 hash over link || bytes, as the store keeps it). */
    hash: Buffer
}

/** The entry's 47 bytes, in `into` at `offset` when given (a view of them is returned), else in a buffer of their own. */
export function encodeLeaf(e: LeafEntry, into?: Buffer, offset = 0): Buffer {
    if (!/^[0-9a-f]{16}$/.test(e.deviceId)) throw new RangeError("device id " + e.deviceId)
    if (!(Number.isInteger(e.chain) && e.chain >= 0 && e.chain <= MAX_CHAIN)) throw new RangeError("chain " + e.chain)
    if (!(Number.isInteger(e.seq) && e.seq >= 0 && e.seq <= 0xffffffff)) throw new RangeError("seq " + e.seq)
    if (e.hash.length !== HASH_BYTES) throw new RangeError("a block hash is 32 bytes")
    const b = into ? into.subarray(offset, offset + LEAF_BYTES) : Buffer.alloc(LEAF_BYTES)
    if (b.length !== LEAF_BYTES) throw new RangeError("no room for an entry at " + offset)
    b[0] = LEAF_VERSION
    b.write(e.deviceId, 1, 8, "hex")
    b.writeUInt16BE(e.chain, 9)
    b.writeUInt32BE(e.seq, 11)
    e.hash.copy(b, 15)
    return b
}

/** Strict: throws RangeError on anything but a version-1 entry. The hash is a view of `b` (the auditor decodes every leaf). */
export function decodeLeaf(b: Buffer): LeafEntry {
    if (b.length !== LEAF_BYTES || b[0] !== LEAF_VERSION)
        throw new RangeError("not a version " + LEAF_VERSION + " log entry of " + LEAF_BYTES + " bytes")
    return {
        deviceId: b.toString("hex", 1, 9),
        chain: b.readUInt16BE(9),
        seq: b.readUInt32BE(11),
        hash: b.subarray(15, 15 + HASH_BYTES),
    }
}

/** An entry bundle (tlog-tiles): each entry as big-endian u16 length || entry. */
export function encodeBundle(entries: readonly Uint8Array[]): Buffer {
    let length = 0
    for (const e of entries) length += 2 + e.length
    const out = Buffer.allocUnsafe(length)
    let off = 0
    for (const e of entries) {
        if (e.length > 0xffff) throw new RangeError("an entry of " + e.length + " bytes")
        out.writeUInt16BE(e.length, off)
        out.set(e, off + 2)
        off += 2 + e.length
    }
    return out
}

export function decodeBundle(b: Buffer): Buffer[] {
    const out: Buffer[] = []
    let off = 0
    while (off < b.length) {
        if (off + 2 > b.length) throw new RangeError("entry bundle cut inside a length")
        const len = b.readUInt16BE(off)
        if (off + 2 + len > b.length) throw new RangeError("entry bundle cut inside entry " + out.length)
        out.push(b.subarray(off + 2, off + 2 + len))
        off += 2 + len
    }
    return out
}
