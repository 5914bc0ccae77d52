/**
 * The forward-secure key schedule and the block tag (FORMAT.md, "Keys and tags").
 *
 * Block n is tagged under its own epoch key K_n; after sealing it the device replaces K_n by
 * K_(n+1) = HMAC-SHA256(K_n, "fieldledger/v1/evolve" || device id || u32le(n)) and forgets K_n
 * (Bellare-Yee forward-secure MACs). Whoever captures the device learns only the current key,
 * and HMAC cannot be run backwards, so every block sealed before the capture stays unforgeable.
 */
import { copyBytes } from "../codec/bytes"
import { DEVICE_ID_BYTES, KEY_BYTES, MAX_SEQ, TAG_BYTES } from "../codec/format"

/** The two primitives the ledger needs; native on the device, @noble/hashes or node:crypto on Node. */
export interface LedgerCrypto {
    sha256(data: Buffer): Buffer
    hmacSha256(key: Buffer, data: Buffer): Buffer
}

/**
 * Domain labels: ASCII, no terminator. Neither is a prefix of the other, so no tag input
 * can ever equal a key-evolution input.
 */
export const TAG_LABEL = "fieldledger/v1/tag"
export const EVOLVE_LABEL = "fieldledger/v1/evolve"

// Encoded once: both are read, never written into.
const TAG_LABEL_BYTES = Buffer.from(TAG_LABEL)
const EVOLVE_LABEL_BYTES = Buffer.from(EVOLVE_LABEL)

function checkKeyAndDevice(key: Buffer, deviceId: Buffer) {
    if (!key || key.length !== KEY_BYTES)
        throw new RangeError("key must be " + KEY_BYTES + " bytes")
    if (!deviceId || deviceId.length !== DEVICE_ID_BYTES)
        throw new RangeError("deviceId must be " + DEVICE_ID_BYTES + " bytes")
}

/** K_(seq+1) from K_seq. */
export function evolveKey(crypto: LedgerCrypto, key: Buffer, deviceId: Buffer, seq: number): Buffer {
    checkKeyAndDevice(key, deviceId)
    if (!(seq >= 0 && seq <= MAX_SEQ && Math.floor(seq) === seq))
        throw new RangeError("seq must be an integer in 0.." + MAX_SEQ + ", got " + seq)
    // label || device id || u32le(seq), put in place: once per block on the device, where a
    // ByteWriter would cost a call (and so an allocation) per field.
    const input = Buffer.alloc(EVOLVE_LABEL_BYTES.length + DEVICE_ID_BYTES + 4)
    input.set(EVOLVE_LABEL_BYTES, 0)
    input.set(deviceId, EVOLVE_LABEL_BYTES.length)
    for (let at = input.length - 4; at < input.length; at++) {
        const high = Math.floor(seq / 256)
        input[at] = seq - high * 256
        seq = high
    }
    return crypto.hmacSha256(key, input)
}

/** K_seq from K_0 by `seq` evolutions (the gateway and verifier side; the device never goes back). */
export function deriveEpochKey(crypto: LedgerCrypto, key0: Buffer, deviceId: Buffer, seq: number): Buffer {
    let key = key0
    for (let n = 0; n < seq; n++) key = evolveKey(crypto, key, deviceId, n)
    return key
}

/** The 16-byte tag of a block whose bytes before the tag are `content`. */
export function blockTag(crypto: LedgerCrypto, key: Buffer, deviceId: Buffer, content: Buffer): Buffer {
    checkKeyAndDevice(key, deviceId)
    const input = Buffer.alloc(TAG_LABEL_BYTES.length + DEVICE_ID_BYTES + content.length)
    input.set(TAG_LABEL_BYTES, 0)
    input.set(deviceId, TAG_LABEL_BYTES.length)
    input.set(content, TAG_LABEL_BYTES.length + DEVICE_ID_BYTES)
    return copyBytes(crypto.hmacSha256(key, input), 0, TAG_BYTES)
}
