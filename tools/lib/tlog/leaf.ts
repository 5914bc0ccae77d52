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

export function encodeLeaf(e: LeafEntry): Buffer {
    if (!/^[0-9a-f]{16}$/.test(e.deviceId)) throw new RangeError("device id " + e.deviceId)
    if (!(Number.isInteger(e.chain) && e.chain >= 0 && e.chain <= MAX_CHAIN)) throw new RangeError("chain " + e.chain)
    if (!(Number.isInteger(e.seq) && e.seq >= 0 && e.seq <= 0xffffffff)) throw new RangeError("seq " + e.seq)
    if (e.hash.length !== HASH_BYTES) throw new RangeError("a block hash is 32 bytes")
    const b = Buffer.alloc(LEAF_BYTES)
    b[0] = LEAF_VERSION
    b.write(e.deviceId, 1, "hex")
    b.writeUInt16BE(e.chain, 9)
    b.writeUInt32BE(e.seq, 11)
    e.hash.copy(b, 15)
    return b
}

/** Strict: throws RangeError on anything but a version-1 entry. */
export function decodeLeaf(b: Buffer): LeafEntry {
    if (b.length !== LEAF_BYTES || b[0] !== LEAF_VERSION)
        throw new RangeError("not a version " + LEAF_VERSION + " log entry of " + LEAF_BYTES + " bytes")
    return {
        deviceId: b.toString("hex", 1, 9),
        chain: b.readUInt16BE(9),
        seq: b.readUInt32BE(11),
        hash: Buffer.from(b.subarray(15, 15 + HASH_BYTES)),
    }
}

/** An entry bundle (tlog-tiles): each entry as big-endian u16 length || entry. */
export function encodeBundle(entries: Buffer[]): Buffer {
    const parts: Buffer[] = []
    for (const e of entries) {
        const len = Buffer.alloc(2)
        len.writeUInt16BE(e.length)
        parts.push(len, e)
    }
    return Buffer.concat(parts)
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
