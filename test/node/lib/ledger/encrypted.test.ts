/**
 * Encrypted readings (docs/FORMAT.md, "Encrypted readings") on Node: the golden encrypted chain
 * (tools/gen-encrypted-vectors.ts, node:crypto aes-256-ctr) decoded, verified and decrypted by
 * src/lib, and the format's rules for flag bit 2.
 */
import { createCipheriv, webcrypto } from "node:crypto"
import { readFileSync } from "node:fs"
import { describe, expect, test } from "vitest"
import { FormatError } from "../../../../src/lib/codec/bytes"
import { decodeBlock } from "../../../../src/lib/ledger/chain"
import {
    ctrInitialBlock,
    dataNonce,
    decryptReadings,
    deriveDataKey,
    encryptContent,
    sealedClearPart,
    evolveDataKey,
} from "../../../../src/lib/ledger/datakey"
import { evolveKey } from "../../../../src/lib/ledger/keys"
import { verifyChain } from "../../../../src/lib/ledger/verify"
import { nodeAesCcm0 } from "../../../../tools/lib/aes"
import { nobleCrypto } from "../../../../tools/lib/crypto"

interface Vector {
    seq: number
    dataKey: string
    nonce?: string
    plainContent: string
    readingsAt?: number
    block: string
    readings?: (number | null)[][]
}
const golden: { deviceId: string; key0: string; dataKey0: string; chain: Vector[] } = JSON.parse(
    readFileSync("test/vectors/golden-encrypted.json", "utf8")
)

const deviceId = Buffer.from(golden.deviceId, "hex")
const key0 = Buffer.from(golden.key0, "hex")
const dataKey0 = Buffer.from(golden.dataKey0, "hex")
const blocks = golden.chain.map(v => Buffer.from(v.block, "hex"))
const encrypted = golden.chain.filter(v => v.nonce !== undefined)

describe("encrypted readings: golden chain", () => {
    test("every data block decodes as encrypted: counts, times and bitmap, no values", () => {
        expect(encrypted.length).toBe(4)
        for (const v of encrypted) {
            const b = decodeBlock(Buffer.from(v.block, "hex"))
            expect(b.readings).toBeUndefined()
            expect(sealedClearPart(b).channelCount).toBe(3)
            expect(sealedClearPart(b).missingValues).toBe(v.readings!.flat().filter(x => x === null).length)
            expect(b.header.readingCount).toBe(v.readings!.length)
        }
    })

    test("the chain verifies over ciphertext, with K_0 and without, and counts what it cannot read", () => {
        for (const key of [key0, undefined]) {
            const report = verifyChain(nobleCrypto, blocks, { deviceId, key0: key })
            expect(report.ok).toBe(true)
            expect(report.summary.encryptedBlocks).toBe(4)
            expect(report.summary.readings).toBe(encrypted.reduce((n, v) => n + v.readings!.length, 0))
        }
    })

    test("decrypts every block with D_seq (derived from D_0) to the generator's readings", () => {
        for (const v of encrypted) {
            const dataKey = deriveDataKey(nobleCrypto, dataKey0, deviceId, v.seq)
            expect(dataKey.toString("hex")).toBe(v.dataKey)
            expect(decryptReadings(nodeAesCcm0, dataKey, deviceId, decodeBlock(Buffer.from(v.block, "hex")))).toEqual(v.readings)
        }
    })

    test("the wrong data key (D_0 for a later block) does not give the readings", () => {
        const v = encrypted[encrypted.length - 1]
        const block = decodeBlock(Buffer.from(v.block, "hex"))
        let got: unknown
        try {
            got = decryptReadings(nodeAesCcm0, dataKey0, deviceId, block)
        } catch (e) {
            expect(e).toBeInstanceOf(FormatError)
            return
        }
        expect(got).not.toEqual(v.readings)
    })

    test("encryptContent re-seals the golden ciphertext (src/lib against the independent encoder)", () => {
        for (const v of encrypted) {
            const content = encryptContent(nodeAesCcm0, Buffer.from(v.dataKey, "hex"), deviceId, v.seq, Buffer.from(v.plainContent, "hex"))
            expect(content.toString("hex")).toBe(v.block.slice(0, v.block.length - 32))
        }
    })

    test("WebCrypto AES-CTR (the dashboard's) with CCM's counter block A_1 decrypts the same bytes", async () => {
        const v = encrypted[encrypted.length - 1]
        const cipher = Buffer.from(v.block, "hex").subarray(v.readingsAt!, v.block.length / 2 - 16)
        const key = await webcrypto.subtle.importKey("raw", Buffer.from(v.dataKey, "hex"), "AES-CTR", false, ["decrypt"])
        const counter = ctrInitialBlock(dataNonce(deviceId, v.seq))
        const plain = Buffer.from(await webcrypto.subtle.decrypt({ name: "AES-CTR", counter, length: 16 }, key, cipher))
        expect(plain.toString("hex")).toBe(v.plainContent.slice(2 * v.readingsAt!))
        // The node:crypto reference agrees (a different implementation of the same mode).
        const ref = createCipheriv("aes-256-ctr", Buffer.from(v.dataKey, "hex"), counter)
        expect(Buffer.concat([ref.update(cipher), ref.final()])).toEqual(plain)
    })

    test("a flipped ciphertext bit fails the tag (encrypt-then-MAC) where K_0 is known", () => {
        const v = encrypted[0]
        const tampered = blocks.map(b => Buffer.from(b))
        tampered[v.seq][v.readingsAt!] ^= 1
        const report = verifyChain(nobleCrypto, tampered, { deviceId, key0 })
        expect(report.ok).toBe(false)
        expect(report.failure?.code).toBe("tag")
        expect(report.failure?.seq).toBe(v.seq)
    })
})

describe("encrypted readings: format rules and key schedule", () => {
    test("flag bit 2 is refused on a genesis block and in v1", () => {
        const genesis = Buffer.from(blocks[0])
        genesis[2] |= 4
        expect(() => decodeBlock(genesis)).toThrow(/encrypted-readings flag/)
        const v1 = Buffer.from(blocks[1])
        v1[0] = 1
        expect(() => decodeBlock(v1)).toThrow(FormatError)
    })

    test("the data key schedule is not the epoch key schedule (distinct labels)", () => {
        expect(evolveDataKey(nobleCrypto, key0, deviceId, 0)).not.toEqual(evolveKey(nobleCrypto, key0, deviceId, 0))
    })

    test("nonce = 0x02 || device id || u32le(seq), counter block 01 || nonce || 00 01", () => {
        const nonce = dataNonce(deviceId, 0x01020304)
        expect(nonce.toString("hex")).toBe("02" + golden.deviceId + "04030201")
        expect(ctrInitialBlock(nonce).toString("hex")).toBe("01" + nonce.toString("hex") + "0001")
    })
})
