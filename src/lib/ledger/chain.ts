/**
 * Sealing and decoding blocks: header + body + tag, the hash link and the key evolution.
 * Pure logic shared by the firmware and the Node tools.
 */
import { ByteReader, ByteWriter, copyBytes, FormatError } from "../codec/bytes"
import {
    BlockHeader,
    BlockTime,
    FLAG_MISSING_VALUES,
    FORMAT_V1,
    FORMAT_VERSION,
    GapBody,
    GenesisBody,
    LINK_BYTES,
    MAX_BLOCK_BYTES,
    RECORD_CHECKPOINT,
    RECORD_DATA,
    RECORD_GAP,
    RECORD_GENESIS,
    TAG_BYTES,
    readGapBody,
    readGenesisBody,
    readHeader,
    writeGapBody,
    writeGenesisBody,
    writeHeader,
} from "../codec/format"
import { blockHash, blockTag, evolveKey, LedgerCrypto } from "./keys"
import { decodeReadings, Reading, ReadingsBuilder } from "../codec/readings"
import { PUBLIC_KEY_BYTES, SignedCheckpoint, SIGNATURE_BYTES } from "./signedcheckpoint"

/** What the device needs to seal the next block: nothing else survives between blocks. */
export interface ChainHead {
    /** Seq of the next block to seal. */
    seq: number
    /** SHA-256 of the last sealed block (for seq 0: the previous chain's head, or zeros). */
    link: Buffer
    /** K_seq: the key of the next block's epoch. */
    key: Buffer
}

export interface SealedBlock {
    seq: number
    type: number
    bytes: Buffer
    /** The block's hash (blockHash: v2 over link || bytes): the next block's link. */
    hash: Buffer
}

/** What a block says, before the header fields the chain fills in (seq, link). */
export interface BlockContent {
    type: number
    time: BlockTime
    intervalMs: number
    readings?: ReadingsBuilder
    genesis?: GenesisBody
    gap?: GapBody
    /** A signed checkpoint's body; without its signature, encodeContent gives the content the signature covers. */
    checkpoint?: SignedCheckpoint
}

export interface DecodedBlock {
    header: BlockHeader
    /** Every byte before the tag: what the tag authenticates. */
    content: Buffer
    tag: Buffer
    genesis?: GenesisBody
    gap?: GapBody
    checkpoint?: SignedCheckpoint
    readings?: Reading[]
}

/** Zero link of a first chain's genesis block. */
export function zeroLink(): Buffer {
    return Buffer.alloc(LINK_BYTES)
}

/** A new chain's head: seq 0 under K_0, linked to a previous chain's head if it has one. */
export function newChainHead(key0: Buffer, previousHead?: Buffer): ChainHead {
    return { seq: 0, link: previousHead ? copyBytes(previousHead, 0, LINK_BYTES) : zeroLink(), key: key0 }
}

/**
 * The bytes before the tag, in format `version` (FORMAT_VERSION, v2, unless given); throws
 * RangeError when the content does not fit its record type.
 */
export function encodeContent(head: ChainHead, content: BlockContent, version?: number): Buffer {
    const v = version === undefined ? FORMAT_VERSION : version
    const readingCount = content.readings ? content.readings.count() : 0
    const header: BlockHeader = {
        version: v,
        type: content.type,
        flags: content.readings && content.readings.hasMissing() ? FLAG_MISSING_VALUES : 0,
        seq: head.seq,
        link: head.link,
        time: content.time,
        intervalMs: content.intervalMs,
        readingCount,
    }
    const w = new ByteWriter(MAX_BLOCK_BYTES)
    writeHeader(w, header)
    if (content.type === RECORD_GENESIS) {
        if (head.seq !== 0) throw new RangeError("a genesis block must have seq 0")
        const g = content.genesis
        writeGenesisBody(w, { link: head.link, deviceId: g.deviceId, firmware: g.firmware, board: g.board, channels: g.channels }, v)
    } else if (content.type === RECORD_DATA) {
        if (readingCount === 0) throw new RangeError("a data block needs at least one reading")
        content.readings.encode(w, v)
    } else if (content.type === RECORD_GAP) {
        writeGapBody(w, content.gap)
    } else {
        // RECORD_CHECKPOINT (no other type has content to write; another has no `checkpoint` and
        // fails here). The signed checkpoint body (docs/FORMAT.md, "Checkpoint body";
        // signedcheckpoint.ts), written here, not in a function of its own, and without checks:
        // device function code is scarce, and the chain store decodes every block strictly before
        // it commits it (a v1 type 3, a key or signature of the wrong length do not decode).
        // Without a signature: the content the signature covers.
        const c = content.checkpoint
        w.varint(c.keyIndex).bytes(c.nextPublicKey)
        if (c.signature) w.bytes(c.signature)
    }
    return w.finish()
}

/**
 * Seals the next block: tags it under K_seq, hashes it, and returns the head for the block
 * after it (K_(seq+1)). The caller must forget `head.key` afterwards (see Ledger).
 */
export function sealBlock(
    crypto: LedgerCrypto,
    deviceId: Buffer,
    head: ChainHead,
    content: BlockContent,
    version?: number
): { block: SealedBlock; next: ChainHead } {
    return sealEncoded(crypto, deviceId, head, encodeContent(head, content, version), content.type)
}

/**
 * Seals content already encoded for `head` (its seq, in its version, of record type `type`):
 * sealBlock's second half, and how a boot seals the open block's checkpoint as flash holds it.
 */
export function sealEncoded(
    crypto: LedgerCrypto,
    deviceId: Buffer,
    head: ChainHead,
    body: Buffer,
    type: number
): { block: SealedBlock; next: ChainHead } {
    if (body.length + TAG_BYTES > MAX_BLOCK_BYTES)
        throw new RangeError("block of " + (body.length + TAG_BYTES) + " bytes exceeds " + MAX_BLOCK_BYTES)
    const tag = blockTag(crypto, head.key, deviceId, body, head.link)
    const bytes = Buffer.alloc(body.length + TAG_BYTES)
    bytes.set(body, 0)
    bytes.set(tag, body.length)
    const hash = blockHash(crypto, head.link, bytes)
    const next: ChainHead = {
        seq: head.seq + 1,
        link: hash,
        key: evolveKey(crypto, head.key, deviceId, head.seq),
    }
    return { block: { seq: head.seq, type, bytes, hash }, next }
}

/** Parses a block strictly; throws FormatError on anything but the one canonical encoding. */
export function decodeBlock(bytes: Buffer): DecodedBlock {
    if (bytes.length > MAX_BLOCK_BYTES) throw new FormatError("block of " + bytes.length + " bytes exceeds " + MAX_BLOCK_BYTES)
    if (bytes.length < TAG_BYTES + 3) throw new FormatError("block truncated")
    const contentLength = bytes.length - TAG_BYTES
    const block = decodeContent(copyBytes(bytes, 0, contentLength))
    block.tag = copyBytes(bytes, contentLength, TAG_BYTES)
    return block
}

/** What a stored block says about itself without its readings. */
export interface BlockSummary {
    header: BlockHeader
    /** A gap record's body (short, so always read). */
    gap?: GapBody
}

/**
 * The header of a block (and a gap record's body) without decoding its readings: enough to
 * find a stored block by seq and count what it holds, for a fraction of decodeBlock's work
 * (the readings are most of a block). It checks the fields it reads and that they end before
 * the tag; the rest is decodeBlock's job, and the tag over the whole content is still checked
 * wherever a block is adopted.
 */
export function decodeBlockSummary(bytes: Buffer): BlockSummary {
    if (bytes.length > MAX_BLOCK_BYTES) throw new FormatError("block of " + bytes.length + " bytes exceeds " + MAX_BLOCK_BYTES)
    if (bytes.length < TAG_BYTES + 3) throw new FormatError("block truncated")
    const r = new ByteReader(bytes, "block")
    const summary: BlockSummary = { header: readHeader(r) }
    // A v2 genesis block's link opens its body (see decodeContent).
    if (summary.header.type === RECORD_GENESIS && summary.header.version !== FORMAT_V1)
        summary.header.link = r.bytes(LINK_BYTES, "genesis link")
    if (summary.header.type === RECORD_GAP) {
        summary.gap = readGapBody(r)
        if (r.remaining() !== TAG_BYTES) throw new FormatError("gap record is not followed by exactly its tag")
    } else if (r.remaining() < TAG_BYTES) throw new FormatError("block truncated: header runs into the tag")
    return summary
}

/**
 * Parses the content of a block (everything before the tag) strictly. Also reads the open
 * block's flash checkpoint, which is the content the block would have if sealed now.
 */
export function decodeContent(content: Buffer): DecodedBlock {
    const r = new ByteReader(content, "block")
    const header = readHeader(r)
    const block: DecodedBlock = { header, content, tag: undefined }
    if (header.type === RECORD_GENESIS) {
        block.genesis = readGenesisBody(r, header.version)
        // v2 keeps a genesis block's link in its body: the header carries it for every reader.
        if (header.version !== FORMAT_V1) header.link = block.genesis.link
    } else if (header.type === RECORD_GAP) block.gap = readGapBody(r)
    else if (header.type === RECORD_CHECKPOINT)
        // The signed checkpoint body, read here for the reason it is written in encodeContent.
        // The key index is any varint: the verifier requires it to be the count before it.
        block.checkpoint = {
            keyIndex: r.varint("signed checkpoint"),
            nextPublicKey: r.bytes(PUBLIC_KEY_BYTES, "signed checkpoint"),
            signature: r.bytes(SIGNATURE_BYTES, "signed checkpoint"),
        }
    else block.readings = decodeReadings(r, header.readingCount, (header.flags & FLAG_MISSING_VALUES) !== 0, header.version)
    if (r.remaining() !== 0) throw new FormatError("block has " + r.remaining() + " trailing bytes before the tag")
    return block
}
