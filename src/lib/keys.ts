/**
 * The forward-secure key schedule and the block tag (FORMAT.md, "Keys and tags").
 *
 * Block n is tagged under its own epoch key K_n; after sealing it the device replaces K_n by
 * K_(n+1) = HMAC-SHA256(K_n, "fieldledger/v1/evolve" || device id || u32le(n)) and forgets K_n
 * (Bellare-Yee forward-secure MACs). Whoever captures the device learns only the current key,
 * and HMAC cannot be run backwards, so every block sealed before the capture stays unforgeable.
 */
import { ByteWriter, copyBytes } from "./bytes"
import { DEVICE_ID_BYTES, KEY_BYTES, TAG_BYTES } from "./format"

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

function checkKeyAndDevice(key: Buffer, deviceId: Buffer) {
    if (!key || key.length !== KEY_BYTES)
        throw new RangeError("key must be " + KEY_BYTES + " bytes")
    if (!deviceId || deviceId.length !== DEVICE_ID_BYTES)
        throw new RangeError("deviceId must be " + DEVICE_ID_BYTES + " bytes")
}

/** K_(seq+1) from K_seq. */
export function evolveKey(crypto: LedgerCrypto, key: Buffer, deviceId: Buffer, seq: number): Buffer {
    checkKeyAndDevice(key, deviceId)
    const input = new ByteWriter(64).bytes(Buffer.from(EVOLVE_LABEL)).bytes(deviceId).u32(seq)
    return crypto.hmacSha256(key, input.finish())
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
    const input = new ByteWriter(content.length + 40).bytes(Buffer.from(TAG_LABEL)).bytes(deviceId).bytes(content)
    const mac = crypto.hmacSha256(key, input.finish())
    return copyBytes(mac, 0, TAG_BYTES)
}
