/** The ledger's crypto on Node: @noble/hashes (audited, pure JS), and node:crypto as a reference. */
import { createHash, createHmac } from "node:crypto"
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import type { LedgerCrypto } from "../../src/lib/ledger/keys"
import { nodeAesCcm0 } from "./aes"

function asBuffer(bytes: Uint8Array): Buffer {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export const nobleCrypto: LedgerCrypto = {
    sha256: data => asBuffer(sha256(data)),
    hmacSha256: (key, data) => asBuffer(hmac(sha256, key, data)),
    aesCcm0: nodeAesCcm0,
}

/** OpenSSL through node:crypto: the speed-of-light reference for benchmarks and a cross-check. */
export const nodeCrypto: LedgerCrypto = {
    sha256: data => createHash("sha256").update(data).digest(),
    hmacSha256: (key, data) => createHmac("sha256", key).update(data).digest(),
    aesCcm0: nodeAesCcm0,
}
