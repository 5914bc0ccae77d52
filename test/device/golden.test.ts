/**
 * The golden vectors (test/vectors/golden.ts, from tools/gen-vectors.ts on Node) reproduced on
 * the device: every block re-sealed byte for byte under the runtime's native crypto, every
 * epoch key, tag and hash equal, and the shared verifier's verdicts the same as on Node.
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/crypto"
import { FormatError } from "../../src/lib/bytes"
import { BlockContent, ChainHead, decodeBlock, sealBlock } from "../../src/lib/chain"
import { BlockTime, RECORD_DATA, RECORD_GAP, RECORD_GENESIS } from "../../src/lib/format"
import { blockTag, evolveKey } from "../../src/lib/keys"
import { ReadingsBuilder } from "../../src/lib/readings"
import { verifyChain } from "../../src/lib/verify"
import { GOLDEN, GoldenBlock, GoldenTime } from "../vectors/golden"

const deviceId = Buffer.from(GOLDEN.deviceId, "hex")

function hex(text: string): Buffer {
    return Buffer.from(text, "hex")
}

function time(t: GoldenTime): BlockTime {
    const out: BlockTime = { boot: t.boot, uptimeMs: t.uptimeMs }
    if (t.unixTime !== undefined && t.unixTime !== null) out.unixTime = t.unixTime
    return out
}

/** The content a golden block was sealed from, rebuilt from its decoded form. */
function contentOf(block: GoldenBlock): BlockContent {
    const d = block.decoded
    const h = d.header
    if (h.type === RECORD_GENESIS) {
        const g = d.genesis
        return { type: RECORD_GENESIS, time: time(h.time), intervalMs: h.intervalMs, genesis: { deviceId: hex(g.deviceId), firmware: g.firmware, board: g.board, channels: g.channels } }
    }
    if (h.type === RECORD_GAP) {
        const g = d.gap
        const gap = { reason: g.reason, lostReadings: g.lostReadings, from: time(g.from), lostBlocks: g.lostBlocks, firstLostSeq: g.firstLostSeq, lastLostHash: g.lastLostHash ? hex(g.lastLostHash) : undefined }
        return { type: RECORD_GAP, time: time(h.time), intervalMs: h.intervalMs, gap }
    }
    const readings = new ReadingsBuilder(d.readings[0].length)
    for (const r of d.readings) readings.add(r)
    return { type: RECORD_DATA, time: time(h.time), intervalMs: h.intervalMs, readings }
}

describe("golden vectors on the device", () => {
    test("re-seals every golden block byte for byte with native crypto", async () => {
        let n = 0
        for (const chain of GOLDEN.chains) {
            for (const block of chain.blocks) {
                const head: ChainHead = { seq: block.seq, link: hex(block.decoded.header.link), key: hex(block.keyHex) }
                const { block: sealed, next } = sealBlock(deviceCrypto, deviceId, head, contentOf(block))
                if (sealed.bytes.toString("hex") !== block.hex) console.log("mismatch: chain " + chain.name + " seq " + block.seq)
                expect(sealed.bytes.toString("hex")).toBe(block.hex)
                expect(sealed.hash.toString("hex")).toBe(block.hashHex)
                expect(next.key.toString("hex")).toBe(evolveKey(deviceCrypto, hex(block.keyHex), deviceId, block.seq).toString("hex"))
                const decoded = decodeBlock(hex(block.hex))
                expect(blockTag(deviceCrypto, hex(block.keyHex), deviceId, decoded.content).toString("hex")).toBe(block.tagHex)
                n++
                await ds.sleep(0)
            }
        }
        expect(n > 5).toBe(true)
    })

    test("derives each next epoch key from the previous one", () => {
        for (const chain of GOLDEN.chains) {
            const blocks = chain.blocks
            expect(blocks[0].keyHex).toBe(chain.key0)
            for (let i = 1; i < blocks.length; i++) {
                if (blocks[i].seq !== blocks[i - 1].seq + 1) continue
                expect(evolveKey(deviceCrypto, hex(blocks[i - 1].keyHex), deviceId, blocks[i - 1].seq).toString("hex")).toBe(blocks[i].keyHex)
            }
        }
    })

    test("verifies each golden chain with the verdict and totals found on Node", async () => {
        for (const chain of GOLDEN.chains) {
            const exported: Buffer[] = []
            for (const b of chain.blocks) if (b.exported) exported.push(hex(b.hex))
            const report = verifyChain(deviceCrypto, exported, { deviceId, key0: hex(chain.key0) })
            expect(report.ok).toBe(chain.verify.ok)
            expect(report.summary.blocks).toBe(chain.verify.summary.blocks)
            expect(report.summary.readings).toBe(chain.verify.summary.readings)
            expect(report.summary.missingValues).toBe(chain.verify.summary.missingValues)
            expect(report.summary.gaps.length).toBe(chain.verify.summary.gaps.length)
            expect(report.summary.head.hash).toBe(chain.verify.summary.head.hash)
            await ds.sleep(0)
        }
    })

    test("rejects every golden malformed block with a format error", () => {
        for (const m of GOLDEN.malformed) {
            let rejected = false
            try {
                decodeBlock(hex(m.hex))
            } catch (e) {
                rejected = e instanceof FormatError
            }
            if (!rejected) console.log("accepted malformed vector " + m.name)
            expect(rejected).toBe(true)
        }
    })

    test("decodes every golden data block to the golden readings", () => {
        for (const chain of GOLDEN.chains)
            for (const block of chain.blocks) {
                if (!block.decoded.readings) continue
                const got = decodeBlock(hex(block.hex)).readings
                expect(got.length).toBe(block.decoded.readings.length)
                for (let i = 0; i < got.length; i++)
                    for (let c = 0; c < got[i].length; c++) expect(got[i][c]).toBe(block.decoded.readings[i][c])
            }
    })
})
