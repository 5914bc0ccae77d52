/**
 * The sync protocol's bytes (docs/API.md, "Sync"): the batch of sealed blocks a device posts to
 * the gateway, and the acknowledgement it gets back. Pure and shared: the firmware builds
 * batches and checks acks with it, the gateway and the load generator parse and sign with it.
 *
 * Blocks authenticate themselves, so a batch needs no MAC. The ack does: it makes the device
 * forget blocks, so a forged ack (no TLS on a Pico W) could make it discard data nobody stored.
 * It is tagged under the *ack key*, derived once from K_0 at provisioning and kept by both
 * sides. The ack key authenticates only gateway -> device messages; whoever captures a device
 * learns it, but can then only lie to that device, which they own already.
 */
import { ByteReader, ByteWriter, constantTimeEqual, copyBytes, FormatError, fromHex } from "../codec/bytes"
import { DEVICE_ID_BYTES, KEY_BYTES, LINK_BYTES, MAX_BLOCK_BYTES, MAX_SEQ, TAG_BYTES } from "../codec/format"
import { LedgerCrypto } from "../ledger/keys"

/** First byte of a batch body. */
export const BATCH_VERSION = 1
/** Random bytes the device puts in each batch; the ack's tag covers them (no replayed acks). */
export const BATCH_NONCE_BYTES = 8
/** Largest batch body a gateway accepts (a device builds it in 64 KB of heap). */
export const MAX_BATCH_BYTES = 16384
/** Bytes before the first block: version and nonce. */
export const BATCH_HEADER_BYTES = 1 + BATCH_NONCE_BYTES

/**
 * Labels, ASCII without terminator. The ack-key label starts like the block labels but differs
 * at byte 15 ("a" against "t" and "e"), so no input to HMAC under K_0 is shared with a tag or a
 * key evolution.
 */
export const ACK_KEY_LABEL = "fieldledger/v1/ack-key"
export const ACK_LABEL = "fieldledger/v1/ack"

export interface Batch {
    nonce: Buffer
    blocks: Buffer[]
}

/** What the gateway holds of a device's chain, as it tells the device. */
export interface Ack {
    /** Highest seq stored with every block before it (or declared lost); -1: nothing stored. */
    ack: number
    /** Hash of the block at `ack`; 32 zero bytes when nothing is stored. */
    head: Buffer
    /** The gateway's clock, whole seconds since 1970-01-01 UTC. */
    time: number
}

/** K_ack = HMAC-SHA256(K_0, "fieldledger/v1/ack-key" || deviceId). */
export function deriveAckKey(crypto: LedgerCrypto, key0: Buffer, deviceId: Buffer): Buffer {
    if (!key0 || key0.length !== KEY_BYTES) throw new RangeError("key0 must be " + KEY_BYTES + " bytes")
    if (!deviceId || deviceId.length !== DEVICE_ID_BYTES) throw new RangeError("deviceId must be " + DEVICE_ID_BYTES + " bytes")
    return crypto.hmacSha256(key0, new ByteWriter(32).bytes(Buffer.from(ACK_KEY_LABEL)).bytes(deviceId).finish())
}

/** Bytes a batch of these blocks takes: the header, then a length byte per block. */
export function batchBytes(blocks: Buffer[]): number {
    let n = BATCH_HEADER_BYTES
    for (const b of blocks) n += 1 + b.length
    return n
}

/** version u8 || nonce (8 bytes) || for each block: length u8 (1..200) || block. */
export function encodeBatch(nonce: Buffer, blocks: Buffer[]): Buffer {
    if (!nonce || nonce.length !== BATCH_NONCE_BYTES) throw new RangeError("nonce must be " + BATCH_NONCE_BYTES + " bytes")
    if (blocks.length === 0) throw new RangeError("a batch needs at least one block")
    const size = batchBytes(blocks)
    if (size > MAX_BATCH_BYTES) throw new RangeError("batch of " + size + " bytes is over " + MAX_BATCH_BYTES)
    const w = new ByteWriter(size).u8(BATCH_VERSION).bytes(nonce)
    for (const b of blocks) {
        if (b.length < 1 || b.length > MAX_BLOCK_BYTES) throw new RangeError("block of " + b.length + " bytes in a batch")
        w.u8(b.length).bytes(b)
    }
    return w.finish()
}

/** Strict: a body that is not exactly a batch is a FormatError naming what is wrong. */
export function decodeBatch(body: Buffer): Batch {
    if (body.length > MAX_BATCH_BYTES) throw new FormatError("batch of " + body.length + " bytes is over " + MAX_BATCH_BYTES)
    const r = new ByteReader(body, "batch")
    const version = r.u8("batch version")
    if (version !== BATCH_VERSION) throw new FormatError("unsupported batch version " + version)
    const nonce = r.bytes(BATCH_NONCE_BYTES, "batch nonce")
    const blocks: Buffer[] = []
    while (r.remaining() > 0) {
        const length = r.u8("block length")
        // The framing allows 1..MAX_BLOCK_BYTES (as encodeBatch writes): 201..255 is a broken batch, not a long block.
        if (length === 0 || length > MAX_BLOCK_BYTES)
            throw new FormatError("block " + blocks.length + " of the batch has length " + length + ", not 1.." + MAX_BLOCK_BYTES)
        blocks.push(r.bytes(length, "block " + blocks.length + " of the batch"))
    }
    if (blocks.length === 0) throw new FormatError("the batch holds no block")
    return { nonce, blocks }
}

/** tag = HMAC-SHA256(K_ack, "fieldledger/v1/ack" || deviceId || nonce || varint(ack + 1) || head || varint(time))[0..16) */
export function ackTag(crypto: LedgerCrypto, ackKey: Buffer, deviceId: Buffer, nonce: Buffer, ack: Ack): Buffer {
    if (!(ack.ack >= -1 && ack.ack <= MAX_SEQ) || Math.floor(ack.ack) !== ack.ack) throw new RangeError("ack must be a seq or -1")
    if (!(ack.time >= 0) || Math.floor(ack.time) !== ack.time) throw new RangeError("time must be whole seconds")
    const w = new ByteWriter(96).bytes(Buffer.from(ACK_LABEL)).bytes(deviceId).bytes(nonce)
    w.varint(ack.ack + 1)
        .bytes(ack.head)
        .varint(ack.time)
    return copyBytes(crypto.hmacSha256(ackKey, w.finish()), 0, TAG_BYTES)
}

/**
 * Reads the ack fields of a gateway reply (already JSON-parsed) and checks its tag against the
 * batch's nonce. Returns undefined for a reply without a valid signed ack: the device then
 * forgets nothing. Every field is checked: the reply crossed an untrusted network.
 */
export function readSignedAck(crypto: LedgerCrypto, ackKey: Buffer, deviceId: Buffer, nonce: Buffer, reply: any): Ack | undefined {
    if (!reply || typeof reply !== "object") return undefined
    const ack = reply.ack
    const time = reply.time
    if (typeof ack !== "number" || typeof time !== "number" || typeof reply.head !== "string" || typeof reply.tag !== "string")
        return undefined
    if (!(ack >= -1 && ack <= MAX_SEQ) || Math.floor(ack) !== ack || !(time >= 0) || Math.floor(time) !== time) return undefined
    if (reply.head.length !== LINK_BYTES * 2 || reply.tag.length !== TAG_BYTES * 2) return undefined
    let head: Buffer
    let tag: Buffer
    try {
        head = fromHex(reply.head, "head")
        tag = fromHex(reply.tag, "tag")
    } catch (e) {
        return undefined
    }
    const result: Ack = { ack, head, time }
    if (!constantTimeEqual(ackTag(crypto, ackKey, deviceId, nonce, result), tag)) return undefined
    return result
}
