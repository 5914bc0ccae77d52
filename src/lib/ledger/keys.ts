/**
 * The forward-secure key schedule and the block tag (FORMAT.md, "Keys and tags").
 *
 * Block n is tagged under its own epoch key K_n; after sealing it the device replaces K_n by
 * K_(n+1) = HMAC-SHA256(K_n, "fieldledger/v1/evolve" || device id || u32le(n)) and forgets K_n
 * (Bellare-Yee forward-secure MACs). Whoever captures the device learns only the current key,
 * and HMAC cannot be run backwards, so every block sealed before the capture stays unforgeable.
 */
import { copyBytes } from "../codec/bytes"
import { DEVICE_ID_BYTES, FORMAT_V1, KEY_BYTES, LINK_BYTES, TAG_BYTES } from "../codec/format"

/** The primitives the ledger needs; native on the device, @noble/hashes or node:crypto on Node. */
export interface LedgerCrypto {
    sha256(data: Buffer): Buffer
    hmacSha256(key: Buffer, data: Buffer): Buffer
    /**
     * AES-256-CCM with tag length 0 (= AES-256-CTR from CCM's counter block A_1), for encrypted
     * readings (datakey.ts, AesCcm0). Only a device or tool that seals or reads them needs it.
     */
    aesCcm0?(key: Buffer, nonce: Buffer, data: Buffer): Buffer
}

/**
 * Domain labels: ASCII, no terminator. None is a prefix of another, so no tag input can ever
 * equal a key-evolution input, nor a v1 tag input a v2 one. The key schedule is the same for
 * both versions (one K_0, one chain), so it keeps its v1 label.
 */
export const TAG_LABEL = "fieldledger/v1/tag"
export const TAG_LABEL_V2 = "fieldledger/v2/tag"
export const EVOLVE_LABEL = "fieldledger/v1/evolve"

// Encoded once: all are read, never written into.
const TAG_LABEL_BYTES = Buffer.from(TAG_LABEL)
const TAG_LABEL_V2_BYTES = Buffer.from(TAG_LABEL_V2)
const EVOLVE_LABEL_BYTES = Buffer.from(EVOLVE_LABEL)

function checkKeyAndDevice(key: Buffer, deviceId: Buffer) {
    if (!key || key.length !== KEY_BYTES) throw new RangeError("key must be " + KEY_BYTES + " bytes")
    if (!deviceId || deviceId.length !== DEVICE_ID_BYTES) throw new RangeError("deviceId must be " + DEVICE_ID_BYTES + " bytes")
}

/**
 * label || device id || u32le(seq), put in place: once per block on the device, where a
 * ByteWriter would cost a call (and so an allocation) per field. The key evolutions' input
 * (K and the data key D) and the data block nonce.
 */
export function seqInput(label: Buffer, deviceId: Buffer, seq: number): Buffer {
    // seq >>> 0 is seq exactly for the integers 0..2^32 - 1 (NaN, negatives, fractions and
    // larger values all change); one test and a constant message cost the least device code.
    if (seq >>> 0 !== seq) throw new RangeError("seq must be an integer in 0..2^32 - 1")
    const input = Buffer.alloc(label.length + DEVICE_ID_BYTES + 4)
    input.set(label, 0)
    input.set(deviceId, label.length)
    for (let at = input.length - 4; at < input.length; at++) {
        const high = Math.floor(seq / 256)
        input[at] = seq - high * 256
        seq = high
    }
    return input
}

/** K_(seq+1) from K_seq. */
export function evolveKey(crypto: LedgerCrypto, key: Buffer, deviceId: Buffer, seq: number): Buffer {
    checkKeyAndDevice(key, deviceId)
    return crypto.hmacSha256(key, seqInput(EVOLVE_LABEL_BYTES, deviceId, seq))
}

/** K_seq from K_0 by `seq` evolutions (the gateway and verifier side; the device never goes back). */
export function deriveEpochKey(crypto: LedgerCrypto, key0: Buffer, deviceId: Buffer, seq: number): Buffer {
    let key = key0
    for (let n = 0; n < seq; n++) key = evolveKey(crypto, key, deviceId, n)
    return key
}

/**
 * The 16-byte tag of a block whose bytes before the tag are `content` (its first byte is the
 * version). v1: HMAC(K, "fieldledger/v1/tag" || device id || content). v2, whose blocks do not
 * store their link: HMAC(K, "fieldledger/v2/tag" || device id || link || content), `link` being
 * the previous block's hash (a genesis block's: the link in its body).
 */
export function blockTag(crypto: LedgerCrypto, key: Buffer, deviceId: Buffer, content: Buffer, link?: Buffer): Buffer {
    checkKeyAndDevice(key, deviceId)
    const v1 = content[0] === FORMAT_V1
    if (!v1 && (!link || link.length !== LINK_BYTES)) throw new RangeError("a v2 tag needs the " + LINK_BYTES + "-byte link")
    const label = v1 ? TAG_LABEL_BYTES : TAG_LABEL_V2_BYTES
    const linkBytes = v1 ? 0 : LINK_BYTES
    const input = Buffer.alloc(label.length + DEVICE_ID_BYTES + linkBytes + content.length)
    input.set(label, 0)
    input.set(deviceId, label.length)
    if (!v1) input.set(link, label.length + DEVICE_ID_BYTES)
    input.set(content, label.length + DEVICE_ID_BYTES + linkBytes)
    return copyBytes(crypto.hmacSha256(key, input), 0, TAG_BYTES)
}

/**
 * The hash of a block: the next block's link, and what a head commits to. v1: SHA-256(block),
 * the block holding its link. v2: SHA-256(link || block), so the hash still commits to the
 * link and, through it, to the whole chain before.
 */
export function blockHash(crypto: LedgerCrypto, link: Buffer, bytes: Buffer): Buffer {
    if (bytes[0] === FORMAT_V1) return crypto.sha256(bytes)
    if (!link || link.length !== LINK_BYTES) throw new RangeError("a v2 block's hash needs the " + LINK_BYTES + "-byte link")
    const input = Buffer.alloc(LINK_BYTES + bytes.length)
    input.set(link, 0)
    input.set(bytes, LINK_BYTES)
    return crypto.sha256(input)
}
