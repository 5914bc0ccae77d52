/**
 * The golden vectors of format v2 (test/vectors/golden-v2.ts, from tools/gen-vectors.ts on Node,
 * where the shared Ledger and an independent encoder written from docs/FORMAT.md agreed on every
 * byte) reproduced on the device: every block re-sealed byte for byte from its decoded content
 * and its link under the runtime's native crypto, its key, tag and hash equal; each chain's
 * verdict and totals, each malformed block refused, and each tampered chain failed at the index
 * and seq and with the code found on Node. A file of its own: the vectors need a heap of their
 * own (the VM's 64 KB), beside the v1 vectors they ran out of memory.
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { FormatError } from "../../src/lib/codec/bytes"
import { ChainHead, decodeBlock, sealBlock } from "../../src/lib/ledger/chain"
import { evolveKey } from "../../src/lib/ledger/keys"
import { verifyChain, VerifyOptions } from "../../src/lib/ledger/verify"
import { DEFAULT_MAX_VALUES_PER_BLOCK } from "../../src/lib/store/defaults"
import { GOLDEN_V2, GoldenV2Decoded } from "../vectors/golden-v2"
import { contentOf, expectVerifiesAsOnNode, hex } from "./helpers/goldencontent"

const deviceId = Buffer.from(GOLDEN_V2.deviceId, "hex")

/**
 * Whether the device can decode this block in one fiber run: the firmware never seals more
 * values (readings x channels) than its cap, DEFAULT_MAX_VALUES_PER_BLOCK (192), because decoding
 * a larger block, synchronous, can exceed the run's 131,071 bytecode ops (the 255 readings x 3
 * channels of chain edges do: an InfiniteLoop panic). Such a block is re-sealed here (its
 * encoding suspends between readings) but decoded and verified only on Node.
 */
function decodableHere(d: GoldenV2Decoded): boolean {
    return d.header.readingCount * V2_CHANNELS <= DEFAULT_MAX_VALUES_PER_BLOCK
}
const V2_CHANNELS = GOLDEN_V2.channels.length

describe("golden v2 vectors on the device", () => {
    test("re-seals every v2 golden block byte for byte with native crypto, with its link, key, tag and hash", async () => {
        let n = 0
        for (const chain of GOLDEN_V2.chains) {
            for (const block of chain.blocks) {
                await ds.sleep(0)
                const head: ChainHead = { seq: block.seq, link: hex(block.linkHex), key: hex(block.keyHex) }
                const content = await contentOf(block.decoded)
                await ds.sleep(0)
                const { block: sealed, next } = sealBlock(deviceCrypto, deviceId, head, content, block.version)
                if (sealed.bytes.toString("hex") !== block.hex) console.log("mismatch: v2 chain " + chain.name + " seq " + block.seq)
                expect(sealed.bytes.toString("hex")).toBe(block.hex)
                expect(sealed.hash.toString("hex")).toBe(block.hashHex)
                expect(next.link.toString("hex")).toBe(block.hashHex)
                expect(next.key.toString("hex")).toBe(evolveKey(deviceCrypto, hex(block.keyHex), deviceId, block.seq).toString("hex"))
                expect(sealed.bytes.slice(sealed.bytes.length - 16).toString("hex")).toBe(block.tagHex)
                n++
            }
        }
        expect(n).toBe(25)
    })

    test("decodes every v2 golden data block within the device's values cap to the golden readings", async () => {
        let beyondCap = 0
        for (const chain of GOLDEN_V2.chains)
            for (const block of chain.blocks) {
                if (!block.decoded.readings) continue
                if (!decodableHere(block.decoded)) {
                    beyondCap++
                    continue
                }
                await ds.sleep(0)
                const got = decodeBlock(hex(block.hex)).readings
                await ds.sleep(0)
                expect(got.length).toBe(block.decoded.readings.length)
                for (let i = 0; i < got.length; i++)
                    for (let c = 0; c < got[i].length; c++) expect(got[i][c]).toBe(block.decoded.readings[i][c])
            }
        // Only the 255-reading block of chain edges is past the cap.
        expect(beyondCap).toBe(1)
    })

    test("verifies each v2 golden chain with the verdict and totals found on Node", async () => {
        let verified = 0
        for (const chain of GOLDEN_V2.chains) {
            await ds.sleep(0)
            let decodable = true
            for (const b of chain.blocks) if (!decodableHere(b.decoded)) decodable = false
            if (!decodable) continue
            verified++
            expectVerifiesAsOnNode(chain, deviceId)
        }
        // Every chain but edges (its 255-reading block is past the cap).
        expect(verified).toBe(GOLDEN_V2.chains.length - 1)
    })

    test("rejects every v2 malformed block with a format error", async () => {
        await ds.sleep(0)
        for (const m of GOLDEN_V2.malformed) {
            let rejected = false
            try {
                decodeBlock(hex(m.hex))
            } catch (e) {
                rejected = e instanceof FormatError
            }
            if (!rejected) console.log("accepted malformed v2 vector " + m.name)
            expect(rejected).toBe(true)
        }
    })

    test("fails each tampered v2 chain at the index, seq and with the code found on Node", async () => {
        for (const t of GOLDEN_V2.tampered) {
            await ds.sleep(0)
            const options: VerifyOptions = { deviceId }
            if (t.key0) options.key0 = hex(t.key0)
            if (t.expectedHead) options.expectedHead = { seq: t.expectedHead.seq, hash: hex(t.expectedHead.hash) }
            const blocks: Buffer[] = []
            for (const b of t.blocks) blocks.push(hex(b))
            const report = verifyChain(deviceCrypto, blocks, options)
            const failure = report.failure
            if (t.failure === null) {
                if (failure) console.log("tampered v2 " + t.name + ": failed as " + failure.code)
                expect(!!failure).toBe(false)
                continue
            }
            if (!failure || failure.code !== t.failure.code)
                console.log("tampered v2 " + t.name + ": " + (failure ? failure.code : "accepted"))
            expect(!!failure).toBe(true)
            expect(failure.code).toBe(t.failure.code)
            expect(failure.index).toBe(t.failure.index)
            expect(failure.seq).toBe(t.failure.seq)
        }
    })
})
