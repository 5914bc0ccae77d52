/**
 * Encrypted readings on the device: the golden encrypted chain (test/vectors/golden-encrypted.ts,
 * written on Node by an independent encoder with node:crypto aes-256-ctr) re-sealed byte for
 * byte with the runtime's native AES-256-CCM at tag length 0 (the firmware's deviceCrypto), the
 * shared data key schedule and sealEncoded.
 */
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { sealEncoded } from "../../src/lib/ledger/chain"
import { AesCcm0, dataNonce, encryptContent, evolveDataKey } from "../../src/lib/ledger/datakey"
import { goldenEncryptedChain, goldenEncryptedDataKey0, goldenEncryptedDeviceId } from "../vectors/golden-encrypted"

function hex(b: Buffer): string {
    return b.toString("hex")
}

const aes: AesCcm0 = deviceCrypto.aesCcm0

describe("encrypted readings on the device", () => {
    test("the data key evolves as the golden chain's", () => {
        const deviceId = Buffer.from(goldenEncryptedDeviceId, "hex")
        let key = Buffer.from(goldenEncryptedDataKey0, "hex")
        for (const v of goldenEncryptedChain) {
            expect(hex(key)).toBe(v.dataKey)
            key = evolveDataKey(deviceCrypto, key, deviceId, v.seq)
        }
    })

    test("re-seals every golden block byte for byte through sealEncoded with D_seq in the head (native CCM, tag length 0)", () => {
        const deviceId = Buffer.from(goldenEncryptedDeviceId, "hex")
        let dataKey = Buffer.from(goldenEncryptedDataKey0, "hex")
        let encrypted = 0
        for (const v of goldenEncryptedChain) {
            const encrypt = v.nonce !== undefined && v.nonce !== null
            if (encrypt) {
                expect(hex(dataNonce(deviceId, v.seq))).toBe(v.nonce)
                encrypted++
            }
            // The firmware's sealing path: the plaintext content, the head's K_seq and D_seq.
            const head = { seq: v.seq, link: Buffer.from(v.link, "hex"), key: Buffer.from(v.epochKey, "hex"), dataKey }
            const { block, next } = sealEncoded(deviceCrypto, deviceId, head, Buffer.from(v.plainContent, "hex"), encrypt ? 1 : 0)
            expect(hex(block.bytes)).toBe(v.block)
            expect(hex(block.hash)).toBe(v.hash)
            dataKey = next.dataKey
        }
        expect(encrypted).toBe(4)
    })

    test("encryptContent alone gives the golden ciphertext", () => {
        const deviceId = Buffer.from(goldenEncryptedDeviceId, "hex")
        const v = goldenEncryptedChain[goldenEncryptedChain.length - 1]
        const content = encryptContent(aes, Buffer.from(v.dataKey, "hex"), deviceId, v.seq, Buffer.from(v.plainContent, "hex"))
        expect(hex(content)).toBe(v.block.slice(0, v.block.length - 32))
    })
})
