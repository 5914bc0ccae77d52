/** The ledger's crypto on the device: the runtime's native SHA-256, HMAC and AES-256-CCM. */
import { digest, hmac } from "@devicescript/crypto"
import { LedgerCrypto } from "../lib/ledger/keys"

export const deviceCrypto: LedgerCrypto = {
    sha256: (data: Buffer) => digest("sha256", data),
    hmacSha256: (key: Buffer, data: Buffer) => hmac(key, "sha256", data),
    // Tag length 0: CCM's CTR part alone (docs/FORMAT.md, "Encrypted readings"); the block tag
    // authenticates. The runtime's native call, as @devicescript/crypto's encrypt() makes it
    // after checking its options (that check costs 300 B of function code; datakey.ts sizes the
    // key and nonce).
    aesCcm0: (key: Buffer, nonce: Buffer, data: Buffer) => (data as any).encrypt("aes-256-ccm", key, nonce, 0),
}
