/**
 * End-to-end encryption of a data block's readings part (docs/FORMAT.md, "Encrypted readings").
 *
 * Block n's readings part (every body byte after the missing-value bitmap) is encrypted with
 * AES-256 in CTR mode under the data key D_n, which evolves one way per block like K_n:
 * D_(n+1) = HMAC-SHA256(D_n, "fieldledger/v2/data-evolve" || device id || u32le(n)). The
 * device forgets D_n once block n is sealed, so a captured device cannot decrypt what it sealed
 * before. The counter blocks are those of AES-256-CCM with a 13-byte nonce and tag length 0
 * (the device's native cipher): 0x01 || nonce || u16be(i), i from 1, nonce = 0x02 || device id
 * || u32le(n). No byte is added to the block: the nonce is the block's own position.
 *
 * The AES primitive is a parameter (native CCM on the device, node:crypto or WebCrypto AES-CTR
 * on a host), so this module stays pure.
 */
import { ByteReader, FormatError } from "../codec/bytes"
import { BlockHeader, DEVICE_ID_BYTES, FLAG_ENCRYPTED, FLAG_MISSING_VALUES, KEY_BYTES, RECORD_DATA, readHeader } from "../codec/format"
import { decodeReadings, Reading } from "../codec/readings"
import { LedgerCrypto, seqInput } from "./keys"

export const DATA_EVOLVE_LABEL = "fieldledger/v2/data-evolve"
/** Its bytes. The device's two evolutions (chain.ts sealEncoded, ChainStore) write evolveDataKey out: a call costs device code. */
export const DATA_EVOLVE_LABEL_BYTES = Buffer.from(DATA_EVOLVE_LABEL)
/** The nonce's first byte: the format version that defines it. */
const NONCE_PREFIX = Buffer.from("\u0002")
export const NONCE_BYTES = 13

/**
 * AES-256 with tag length 0 in CCM's counter layout: returns `data` XOR the key stream of the
 * counter blocks 0x01 || nonce || u16be(i), i = 1, 2, ... (encrypting and decrypting are one
 * operation). On the device `encrypt({ algo: "aes-256-ccm", tagLength: 0 })`; on Node
 * `aes-256-ctr` with the initial counter block ctrInitialBlock(nonce).
 */
export type AesCcm0 = (key: Buffer, nonce: Buffer, data: Buffer) => Buffer

/**
 * D_(seq+1) from D_seq. No size checks here (they cost device code): D_0 is checked where it
 * enters (provisioning, the firmware's fl_d0, the owner's key file), and HMAC keeps 32 bytes.
 */
export function evolveDataKey(crypto: LedgerCrypto, key: Buffer, deviceId: Buffer, seq: number): Buffer {
    return crypto.hmacSha256(key, seqInput(DATA_EVOLVE_LABEL_BYTES, deviceId, seq))
}

/** D_seq from D_0 (the owner's side; the device never goes back). */
export function deriveDataKey(crypto: LedgerCrypto, key0: Buffer, deviceId: Buffer, seq: number): Buffer {
    let key = key0
    for (let n = 0; n < seq; n++) key = evolveDataKey(crypto, key, deviceId, n)
    return key
}

/** The 13-byte nonce of block `seq`: 0x02 || device id || u32le(seq). */
export function dataNonce(deviceId: Buffer, seq: number): Buffer {
    return seqInput(NONCE_PREFIX, deviceId, seq)
}

/** The first CTR counter block for a CCM nonce: 0x01 (CCM flags, L = 2) || nonce || 00 01. */
export function ctrInitialBlock(nonce: Buffer): Buffer {
    const iv = Buffer.alloc(16)
    iv[0] = 1
    iv.set(nonce, 1)
    iv[15] = 1
    return iv
}

/**
 * Where the readings part of a data block starts in `content` (every byte before the tag):
 * after the header, the channel count and the missing-value bitmap. Only for a data block that
 * decoded (the host's decryptReadings) or that the device's own encoder wrote: it checks
 * nothing the decoder checks, to stay small on the device.
 */
export function readingsPartAt(content: Buffer): number {
    const r = new ByteReader(content, "block")
    const h = readHeader(r)
    const at = r.offset + 1
    return h.flags & FLAG_MISSING_VALUES ? at + ((h.readingCount * content[at - 1] + 7) >> 3) : at
}

/**
 * `content` with its bytes from `at` on encrypted (or decrypted) under D_seq: one AES call.
 * Returns a new buffer; `content` is not changed.
 */
export function cryptFrom(aes: AesCcm0, dataKey: Buffer, deviceId: Buffer, seq: number, content: Buffer, at: number): Buffer {
    const out = Buffer.alloc(content.length)
    out.set(content, 0)
    out.set(aes(dataKey, dataNonce(deviceId, seq), content.slice(at)), at)
    return out
}

/**
 * Encrypts the content of a plaintext v2 data block for block `seq` IN PLACE (and returns it):
 * sets flag bit 2 and encrypts its readings part under D_seq. The tag is then computed over the result
 * (encrypt-then-MAC).
 */
export function encryptContent(aes: AesCcm0, dataKey: Buffer, deviceId: Buffer, seq: number, content: Buffer): Buffer {
    // In place, with readingsPartAt and dataNonce written out: this is the device's sealing
    // path, where each call and copy costs function code.
    content[2] |= FLAG_ENCRYPTED
    const r = new ByteReader(content, "block")
    const h = readHeader(r)
    let at = r.offset + 1
    if (h.flags & FLAG_MISSING_VALUES) at += (h.readingCount * content[at - 1] + 7) >> 3
    content.set(aes(dataKey, seqInput(NONCE_PREFIX, deviceId, seq), content.slice(at)), at)
    return content
}

/** What decryptReadings needs of a decoded block (chain.ts DecodedBlock; no import, which would be a cycle). */
export interface SealedBlockView {
    header: BlockHeader
    content: Buffer
    bodyAt?: number
}

/** An encrypted data block's channel count and missing values, which stay in clear (for counts without the key). */
export function sealedClearPart(block: SealedBlockView): { channelCount: number; missingValues: number } {
    const content = block.content
    const channelCount = content[block.bodyAt]
    let missingValues = 0
    if (block.header.flags & FLAG_MISSING_VALUES)
        for (let k = 0; k < block.header.readingCount * channelCount; k++)
            if (content[block.bodyAt + 1 + (k >> 3)] & (128 >> (k & 7))) missingValues++
    return { channelCount, missingValues }
}

/** Where an encrypted data block's readings part starts, after checking that it is one. */
export function encryptedPartAt(block: SealedBlockView): number {
    if (!(block.header.flags & FLAG_ENCRYPTED) || block.bodyAt === undefined) throw new FormatError("not an encrypted data block")
    return readingsPartAt(block.content)
}

/**
 * The readings of an encrypted data block from its readings part decrypted under D_seq
 * (`plainPart`: the content's bytes from `at` = encryptedPartAt(block) on, decrypted by any AES,
 * the browser's asynchronous one included), decoded strictly (a wrong key almost always fails as
 * FormatError; the tag, checked over the ciphertext, is what proves the block authentic).
 */
export function decodeDecryptedReadings(block: SealedBlockView, at: number, plainPart: Buffer): Reading[] {
    const h = block.header
    const plain = Buffer.alloc(block.content.length)
    plain.set(block.content, 0)
    plain.set(plainPart, at)
    const r = new ByteReader(plain, "block")
    r.offset = block.bodyAt
    const readings = decodeReadings(r, h.readingCount, (h.flags & FLAG_MISSING_VALUES) !== 0, h.version)
    if (r.remaining() !== 0) throw new FormatError("decrypted readings have " + r.remaining() + " trailing bytes")
    return readings
}

/** The readings of an encrypted data block, decrypted under D_seq (one AES call) and decoded strictly. */
export function decryptReadings(aes: AesCcm0, dataKey: Buffer, deviceId: Buffer, block: SealedBlockView): Reading[] {
    const at = encryptedPartAt(block)
    return decodeDecryptedReadings(block, at, aes(dataKey, dataNonce(deviceId, block.header.seq), block.content.slice(at)))
}
