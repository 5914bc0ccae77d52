/** The ledger's crypto on Node: @noble/hashes (audited, pure JS), and node:crypto as a reference. */
import { createHash, createHmac } from "node:crypto"
import type { LedgerCrypto } from "../../src/lib/ledger/keys"
import { nodeAesCcm0 } from "./aes"
import { nobleHashes } from "./noblehashes"

export const nobleCrypto: LedgerCrypto = { ...nobleHashes, aesCcm0: nodeAesCcm0 }

/** OpenSSL through node:crypto: the speed-of-light reference for benchmarks and a cross-check. */
export const nodeCrypto: LedgerCrypto = {
    sha256: data => createHash("sha256").update(data).digest(),
    hmacSha256: (key, data) => createHmac("sha256", key).update(data).digest(),
    aesCcm0: nodeAesCcm0,
}
