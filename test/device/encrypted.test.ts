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

    test("re-seals every golden encrypted block byte for byte (native CCM, tag length 0)", () => {
        const deviceId = Buffer.from(goldenEncryptedDeviceId, "hex")
        let sealed = 0
        for (const v of goldenEncryptedChain) {
            if (v.nonce === undefined || v.nonce === null) continue
            expect(hex(dataNonce(deviceId, v.seq))).toBe(v.nonce)
            const content = encryptContent(aes, Buffer.from(v.dataKey, "hex"), deviceId, v.seq, Buffer.from(v.plainContent, "hex"))
            const head = { seq: v.seq, link: Buffer.from(v.link, "hex"), key: Buffer.from(v.epochKey, "hex") }
            const { block } = sealEncoded(deviceCrypto, deviceId, head, content, 1)
            expect(hex(block.bytes)).toBe(v.block)
            expect(hex(block.hash)).toBe(v.hash)
            sealed++
        }
        expect(sealed).toBe(4)
    })
})
