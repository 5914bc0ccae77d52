/**
 * The AES primitive of encrypted readings on Node (src/lib/ledger/datakey.ts, AesCcm0): the
 * device's AES-256-CCM with tag length 0 is AES-256-CTR from CCM's counter block A_1.
 */
import { createCipheriv } from "node:crypto"
import { AesCcm0, ctrInitialBlock } from "../../src/lib/ledger/datakey"

export const nodeAesCcm0: AesCcm0 = (key: Buffer, nonce: Buffer, data: Buffer) => {
    const cipher = createCipheriv("aes-256-ctr", key, ctrInitialBlock(nonce))
    return Buffer.concat([cipher.update(data), cipher.final()])
}
