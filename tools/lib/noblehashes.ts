/**
 * SHA-256 and HMAC-SHA256 through @noble/hashes (audited, pure JS), as the ledger's crypto
 * interface has them. No Node import, so the dashboard's browser bundle uses them too
 * (tools/dashboard/browser/decrypt.ts); tools/lib/crypto.ts adds AES for Node.
 */
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import type { LedgerCrypto } from "../../src/lib/ledger/keys"

function asBuffer(bytes: Uint8Array): Buffer {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export const nobleHashes: LedgerCrypto = {
    sha256: data => asBuffer(sha256(data)),
    hmacSha256: (key, data) => asBuffer(hmac(sha256, key, data)),
}
