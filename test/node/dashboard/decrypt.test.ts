/**
 * The dashboard's in-browser decryption (tools/dashboard/browser/decrypt.ts) on Node, which has
 * WebCrypto as a browser does: against the encrypted golden vectors, against node:crypto's
 * AES-256-CTR, and as the bundle the gateway serves (esbuild, with the `buffer` package for
 * Buffer) loaded as an ES module.
 */
import { randomBytes } from "node:crypto"
import { describe, expect, test } from "vitest"
import { fromFixedPoint } from "../../../src/lib/codec/fixedpoint"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { ctrInitialBlock } from "../../../src/lib/ledger/datakey"
import { nodeAesCcm0 } from "../../../tools/lib/aes"
import { nobleHashes } from "../../../tools/lib/noblehashes"
import {
    DataKeyChain,
    dataKeyChain,
    DataKeyError,
    decryptBlocks,
    parseDataKey,
    webCryptoAesCtr,
} from "../../../tools/dashboard/browser/decrypt"
import { decryptModule } from "../../../tools/dashboard/bundle"
import { goldenEncryptedChain, goldenEncryptedDataKey0, goldenEncryptedDeviceId } from "../../vectors/golden-encrypted"

const channels = decodeBlock(Buffer.from(goldenEncryptedChain[0].block, "hex")).genesis!.channels
/** The chain's blocks as GET /v1/devices/:id/blocks?bytes=1 lists them. */
const listed = goldenEncryptedChain.map(v => ({ seq: v.seq, bytes: v.block }))
/** What the vectors say every encrypted block holds, as physical values. */
const expected = new Map(
    goldenEncryptedChain
        .filter(v => v.readings)
        .map(v => [v.seq, v.readings!.map(r => r.map((x, c) => (x === null ? null : fromFixedPoint(x, channels[c].exponent))))])
)

describe("parseDataKey: the owner's key file", () => {
    test("takes 64 hex digits, with the newline provision writes after them", () => {
        expect(parseDataKey(goldenEncryptedDataKey0 + "\n").toString("hex")).toBe(goldenEncryptedDataKey0)
        expect(parseDataKey("  " + goldenEncryptedDataKey0.toUpperCase() + "\r\n").toString("hex")).toBe(goldenEncryptedDataKey0)
    })

    test("refuses anything else, saying what a key file holds", () => {
        expect(() => parseDataKey(goldenEncryptedDataKey0.slice(2))).toThrow("a data key must be 64 hex digits (32 bytes), got 62")
        expect(() => parseDataKey("")).toThrow("a data key must be 64 hex digits (32 bytes), got 0")
        expect(() => parseDataKey("zz" + goldenEncryptedDataKey0.slice(2))).toThrow(DataKeyError)
        expect(() => parseDataKey("zz" + goldenEncryptedDataKey0.slice(2))).toThrow("a data key: not a hex digit at position 0")
        expect(() => parseDataKey('{"key":"' + goldenEncryptedDataKey0 + '"}')).toThrow(
            "a data key must be 64 hex digits (32 bytes), got 74"
        )
    })
})

describe("decryptBlocks with WebCrypto", () => {
    test("gives exactly the golden vectors' readings, and nothing for blocks that are not encrypted", async () => {
        expect(expected.size).toBeGreaterThanOrEqual(3)
        const got = await decryptBlocks(dataKeyChain(goldenEncryptedDeviceId, goldenEncryptedDataKey0), channels, listed)
        expect(got).toEqual(expected)
    })

    test("reports progress after every block", async () => {
        const seen: string[] = []
        await decryptBlocks(dataKeyChain(goldenEncryptedDeviceId, goldenEncryptedDataKey0), channels, listed, (done, total) =>
            seen.push(done + "/" + total)
        )
        expect(seen).toEqual(listed.map((_, i) => i + 1 + "/" + listed.length))
    })

    test("one key chain serves blocks out of order (it starts again from D_0 to go back)", async () => {
        const keys = dataKeyChain(goldenEncryptedDeviceId, goldenEncryptedDataKey0)
        const reversed = [...listed].reverse()
        expect(await decryptBlocks(keys, channels, reversed)).toEqual(expected)
        for (const v of goldenEncryptedChain) expect(keys.keyAt(v.seq).toString("hex"), "D_" + v.seq).toBe(v.dataKey)
    })

    test("another data key fails with the block it failed on, and decrypts nothing", async () => {
        const wrong = new DataKeyChain(nobleHashes, Buffer.from(goldenEncryptedDeviceId, "hex"), Buffer.alloc(32, 0x5a))
        const first = goldenEncryptedChain.find(v => v.readings)!
        await expect(decryptBlocks(wrong, channels, listed)).rejects.toThrow(
            new RegExp("block seq " + first.seq + " does not decrypt under this data key")
        )
        await expect(decryptBlocks(wrong, channels, listed)).rejects.toBeInstanceOf(DataKeyError)
    })

    test("another device's id (its nonces and key schedule) fails too", async () => {
        const otherDevice = dataKeyChain("00000000000000ee", goldenEncryptedDataKey0)
        await expect(decryptBlocks(otherDevice, channels, listed)).rejects.toBeInstanceOf(DataKeyError)
    })

    test("WebCrypto's AES-CTR counting in 16 bits is node:crypto's AES-256-CTR from CCM's counter block A_1", async () => {
        for (const length of [0, 1, 15, 16, 17, 200, 4096]) {
            const key = randomBytes(32)
            const nonce = randomBytes(13)
            const data = randomBytes(length)
            const web = await webCryptoAesCtr(key, ctrInitialBlock(nonce), data)
            expect(Buffer.from(web).equals(nodeAesCcm0(key, nonce, data)), "length " + length).toBe(true)
        }
    })
})

describe("the bundle the gateway serves as /dashboard/decrypt.js", () => {
    test("is one self-contained ES module that decrypts the golden chain", async () => {
        const code = await decryptModule()
        // Nothing is left for a browser to resolve: no import of a package or of node:*.
        expect(code).not.toMatch(/\bimport\s*[^(]*\s*from\s*["']/)
        expect(code).not.toContain("node:")
        const bundled = await import("data:text/javascript;base64," + Buffer.from(code).toString("base64"))
        const keys = bundled.dataKeyChain(goldenEncryptedDeviceId, goldenEncryptedDataKey0)
        const got: Map<number, (number | null)[][]> = await bundled.decryptBlocks(keys, channels, listed)
        expect(got).toEqual(expected)
        await expect(
            bundled.decryptBlocks(bundled.dataKeyChain(goldenEncryptedDeviceId, "11".repeat(32)), channels, listed)
        ).rejects.toMatchObject({ name: "DataKeyError" })
    })
})
