/**
 * The golden vectors of format v1 (test/vectors/golden.ts, from tools/gen-vectors.ts on Node)
 * reproduced on the device: every block re-sealed byte for byte under the runtime's native
 * crypto, every epoch key, tag and hash equal, and the shared verifier's verdicts the same as on
 * Node. (The v2 vectors: goldenv2.test.ts, an image and a heap of their own.)
 * Then the shared primitives whose behaviour rests on what the runtimes differ in (slice, bit
 * operators on non-numbers), with the same answers test/node/lib/codec/bytes.test.ts checks on Node.
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { BitWriter } from "../../src/lib/codec/bitpack"
import { ByteWriter, copyBytes, FormatError, SHORT_BYTES, wipe } from "../../src/lib/codec/bytes"
import { ChainHead, decodeBlock, newChainHead, sealBlock, SealedBlock } from "../../src/lib/ledger/chain"
import { blockTag, evolveKey } from "../../src/lib/ledger/keys"
import { Ledger } from "../../src/lib/ledger/ledger"
import { checkReading, MISSING, Reading, ReadingsBuilder } from "../../src/lib/codec/readings"
import { GOLDEN } from "../vectors/golden"
import { contentOf, expectVerifiesAsOnNode, hex } from "./helpers/goldencontent"

const deviceId = Buffer.from(GOLDEN.deviceId, "hex")

describe("golden vectors on the device", () => {
    test("re-seals every golden block byte for byte with native crypto", async () => {
        let n = 0
        for (const chain of GOLDEN.chains) {
            for (const block of chain.blocks) {
                const head: ChainHead = { seq: block.seq, link: hex(block.decoded.header.link), key: hex(block.keyHex) }
                const { block: sealed, next } = sealBlock(
                    deviceCrypto,
                    deviceId,
                    head,
                    await contentOf(block.decoded),
                    block.decoded.header.version
                )
                if (sealed.bytes.toString("hex") !== block.hex) console.log("mismatch: chain " + chain.name + " seq " + block.seq)
                expect(sealed.bytes.toString("hex")).toBe(block.hex)
                expect(sealed.hash.toString("hex")).toBe(block.hashHex)
                expect(next.key.toString("hex")).toBe(evolveKey(deviceCrypto, hex(block.keyHex), deviceId, block.seq).toString("hex"))
                const decoded = decodeBlock(hex(block.hex))
                expect(blockTag(deviceCrypto, hex(block.keyHex), deviceId, decoded.content, head.link).toString("hex")).toBe(block.tagHex)
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
                expect(evolveKey(deviceCrypto, hex(blocks[i - 1].keyHex), deviceId, blocks[i - 1].seq).toString("hex")).toBe(
                    blocks[i].keyHex
                )
            }
        }
    })

    test("verifies each golden chain with the verdict and totals found on Node", async () => {
        for (const chain of GOLDEN.chains) {
            expectVerifiesAsOnNode(chain, deviceId)
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

function counting(length: number): Buffer {
    const b = Buffer.alloc(length)
    for (let i = 0; i < length; i++) b[i] = (i * 37 + 1) & 255
    return b
}

/** The message of the RangeError `f` throws, or "" when it throws nothing or something else. */
function rangeErrorOf(f: () => void): string {
    try {
        f()
    } catch (e) {
        if (e instanceof RangeError) return (e as RangeError).message
        return "not a RangeError: " + e
    }
    return ""
}

function encoded(b: ReadingsBuilder): string {
    const w = new ByteWriter()
    b.encode(w)
    return w.finish().toString("hex")
}

describe("shared primitives on the device", () => {
    test("copyBytes copies short and long ranges into buffers of their own", async () => {
        await ds.sleep(0) // a fresh op budget: the runner does not suspend between tests
        const lengths = [0, 1, SHORT_BYTES, SHORT_BYTES + 1, 150]
        for (const n of lengths) {
            const source = counting(n + 10)
            const copy = copyBytes(source, 7, n)
            expect(copy.length).toBe(n)
            for (let i = 0; i < n; i++) expect(copy[i]).toBe(source[7 + i])
            if (n > 0) {
                source[7] = source[7] ^ 255
                expect(copy[0] === source[7]).toBe(false)
            }
        }
    })

    test("copyBytes refuses ranges outside the buffer, which the runtime's slice would not", async () => {
        await ds.sleep(0) // a fresh op budget: the runner does not suspend between tests
        const ranges = [
            [21, 0],
            [15, 6],
            [0, 64],
            [-1, 4],
            [2, -1],
            [1.5, 2],
        ]
        ranges.forEach(r => expect(rangeErrorOf(() => copyBytes(counting(20), r[0], r[1])) === "").toBe(false))
    })

    test("wipe zeroes short and long buffers in place", async () => {
        await ds.sleep(0) // a fresh op budget: the runner does not suspend between tests
        const lengths = [1, SHORT_BYTES, SHORT_BYTES + 1, 150]
        for (const n of lengths) {
            const buf = counting(n)
            wipe(buf)
            for (let i = 0; i < n; i++) expect(buf[i]).toBe(0)
        }
    })

    test("checkReading refuses what is not int32 and names the channel", async () => {
        await ds.sleep(0) // a fresh op budget: the runner does not suspend between tests
        const bad: any[] = [2147483648, -2147483649, 1.5, NaN, Infinity, "7", true]
        bad.forEach(v => {
            const message = rangeErrorOf(() => checkReading([0, v], 2))
            if (message.indexOf("channel 1:") !== 0) console.log("checkReading: " + v + " gave '" + message + "'")
            expect(message.indexOf("channel 1:")).toBe(0)
            expect(rangeErrorOf(() => new ReadingsBuilder(2).add([0, v])).indexOf("channel 1:")).toBe(0)
        })
        expect(rangeErrorOf(() => checkReading([-2147483648, 2147483647, MISSING], 3))).toBe("")
    })

    test("ByteWriter refuses out-of-range bytes and varints", async () => {
        await ds.sleep(0) // a fresh op budget: the runner does not suspend between tests
        const bad: any[] = [-1, 256, 1.5, NaN, "1"]
        bad.forEach(v => {
            expect(rangeErrorOf(() => new ByteWriter().u8(v)) === "").toBe(false)
            expect(rangeErrorOf(() => new ByteWriter().varint(v === 256 ? 9007199254740992 : v)) === "").toBe(false)
        })
        expect(new ByteWriter(1).u8(9).varint(4294967295).finish().toString("hex")).toBe("09ffffffff0f")
    })

    test("BitWriter packs runs, hands over an exactly sized buffer and refuses writes after finish", async () => {
        await ds.sleep(0) // a fresh op budget: the runner does not suspend between tests
        const w = new BitWriter(3)
        w.writeRun([1, 2, 3], 4)
        w.writeRun([0x3ff], 10)
        w.writeRun([1], 2)
        const bytes = w.finish()
        expect(bytes.toString("hex")).toBe("123ffd")
        expect(rangeErrorOf(() => w.writeRun([1], 4)) === "").toBe(false)
        const wide = new BitWriter()
        wide.writeRun([8589934591, 1], 33)
        expect(wide.finish().toString("hex")).toBe("ffffffff8000000040")
    })

    test("a reading that does not fit or holds a bad value leaves the open block as it was", async () => {
        await ds.sleep(0) // a fresh op budget: the runner does not suspend between tests
        const b = new ReadingsBuilder(3)
        const readings: Reading[] = [
            [0, 10, MISSING],
            [1, 10, MISSING],
            [2, 10, 4],
        ]
        for (const r of readings) b.add(r)
        const before = encoded(b)
        expect(rangeErrorOf(() => b.add([1000000, MISSING, 0.5])).indexOf("channel 2:")).toBe(0)
        expect(encoded(b)).toBe(before)
        expect(b.tryAdd([1000000, MISSING, 5], b.bodySize())).toBe(false)
        expect(encoded(b)).toBe(before)
        expect(b.tryAdd([3, 11, 5], 100)).toBe(true)
        const got = b.readings()
        expect(got.length).toBe(4)
        expect(got[3][1]).toBe(11)
        expect(got[1][2]).toBe(MISSING)
    })

    test("the ledger's one builder, cleared for each block, seals each block's own readings", async () => {
        await ds.sleep(0) // a fresh op budget: the runner does not suspend between tests
        const specs = [
            { name: "a", unit: "u", exponent: 0 },
            { name: "b", unit: "u", exponent: 0 },
        ]
        const ledger = new Ledger(deviceCrypto, deviceId, specs, newChainHead(Buffer.alloc(32)), {
            intervalMs: 1000,
            maxReadingsPerBlock: 12,
        })
        ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "t", "s")
        // Blocks of 12, 3 (sealed early) and 12 readings: the short block leaves stale values
        // in the builder's arrays, and every block widens its deltas as it goes.
        const sizes = [12, 3, 12]
        const blocks: SealedBlock[] = []
        const taken: Reading[][] = []
        let t = 0
        for (let b = 0; b < sizes.length; b++) {
            const readings: Reading[] = []
            for (let i = 0; i < sizes[b]; i++) {
                const r: Reading = [b * 1000 + i * i * (b + 1), i % 4 === 1 ? MISSING : -i]
                readings.push(r)
                t += 1000
                const sealed = ledger.append(r, { boot: 0, uptimeMs: t })
                for (let k = 0; k < sealed.length; k++) blocks.push(sealed[k])
            }
            if (ledger.openReadingCount() > 0) blocks.push(ledger.sealOpen())
            taken.push(readings)
        }
        expect(blocks.length).toBe(3)
        for (let b = 0; b < blocks.length; b++) {
            const got = decodeBlock(blocks[b].bytes).readings
            expect(got.length).toBe(taken[b].length)
            for (let i = 0; i < got.length; i++) for (let c = 0; c < 2; c++) expect(got[i][c]).toBe(taken[b][i][c])
        }
    })
})
