/** The ledger's crypto on the device: the runtime's native SHA-256 and HMAC. */
import { digest, hmac } from "@devicescript/crypto"
import { LedgerCrypto } from "../lib/ledger/keys"

export const deviceCrypto: LedgerCrypto = {
    sha256: (data: Buffer) => digest("sha256", data),
    hmacSha256: (key: Buffer, data: Buffer) => hmac(key, "sha256", data),
}
