/** The ledger's crypto on the device: the runtime's native SHA-256, HMAC and AES-256-CCM. */
import { digest, encrypt, hmac } from "@devicescript/crypto"
import { LedgerCrypto } from "../lib/ledger/keys"

export const deviceCrypto: LedgerCrypto = {
    sha256: (data: Buffer) => digest("sha256", data),
    hmacSha256: (key: Buffer, data: Buffer) => hmac(key, "sha256", data),
    // Tag length 0: CCM's CTR part alone (docs/FORMAT.md, "Encrypted readings"); the block tag authenticates.
    aesCcm0: (key: Buffer, nonce: Buffer, data: Buffer) => encrypt({ data, algo: "aes-256-ccm", key, iv: nonce, tagLength: 0 }),
}
