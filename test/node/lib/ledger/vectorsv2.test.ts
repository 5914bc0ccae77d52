/**
 * The golden vectors of block format v2 (test/vectors/golden-v2.json, docs/FORMAT.md) against
 * the shared codec, key schedule and verifier. The vectors were sealed by the shared Ledger and,
 * byte for byte the same, by the independent encoder tools/lib/specv2.ts (written from
 * FORMAT.md); here each block is decoded, re-encoded from its decoded content through the
 * shared codec and compared byte for byte, each chain verified, each malformed block refused
 * and each tampered chain failed with the index, seq and code FORMAT.md gives.
 */
import { readFileSync } from "node:fs"
import { describe, expect, test } from "vitest"
import { ByteWriter, FormatError, fromHex, toHex } from "../../../../src/lib/codec/bytes"
import { BlockContent, decodeBlock, sealBlock } from "../../../../src/lib/ledger/chain"
import { BlockTime, RECORD_DATA, RECORD_GAP, RECORD_GENESIS, TAG_BYTES } from "../../../../src/lib/codec/format"
import { blockHash, blockTag, deriveEpochKey, evolveKey } from "../../../../src/lib/ledger/keys"
import { Reading, ReadingsBuilder } from "../../../../src/lib/codec/readings"
import { verifyChain, VerifyOptions } from "../../../../src/lib/ledger/verify"
import { asGolden, BACKENDS, gapBodyOf } from "../../helpers/golden"
import { nobleCrypto } from "../../../../tools/lib/crypto"
import { buildGoldenV2 } from "../../../../tools/gen-vectors-v2"
import { specDataBody } from "../../../../tools/lib/specv2"
import { GOLDEN_V2, GoldenV2Block, GoldenV2Chain } from "../../../vectors/golden-v2"

const GOLDEN_V2_JSON = JSON.parse(readFileSync(new URL("../../../vectors/golden-v2.json", import.meta.url), "utf8"))
const FORMAT_MD = readFileSync(new URL("../../../../docs/FORMAT.md", import.meta.url), "utf8")

const deviceId = fromHex(GOLDEN_V2.deviceId, "deviceId")
const hex = (text: string) => fromHex(text, "vector")
const chainNamed = (name: string) => GOLDEN_V2.chains.find(c => c.name === name)!
const exportedBytes = (chain: GoldenV2Chain) => chain.blocks.filter(b => b.exported).map(b => hex(b.hex))
const allBlocks = () => GOLDEN_V2.chains.flatMap(c => c.blocks)
const MAX_TIME = 9007199254740991

/** The content a vector block was sealed from, rebuilt from its decoded form for the shared encoder. */
function contentOf(block: GoldenV2Block): BlockContent {
    const d = block.decoded
    const h = d.header
    const time: BlockTime = { boot: h.time.boot, uptimeMs: h.time.uptimeMs }
    if (h.time.unixTime !== undefined) time.unixTime = h.time.unixTime
    if (h.type === RECORD_GENESIS) {
        const g = d.genesis!
        return {
            type: RECORD_GENESIS,
            time,
            intervalMs: h.intervalMs,
            genesis: { deviceId: hex(g.deviceId), firmware: g.firmware, board: g.board, channels: g.channels },
        }
    }
    if (h.type === RECORD_GAP) {
        const g = d.gap!
        const gap = gapBodyOf(g)
        return { type: RECORD_GAP, time, intervalMs: h.intervalMs, gap }
    }
    const readings = new ReadingsBuilder(d.readings![0].length, h.version)
    for (const r of d.readings!) readings.add(r)
    return { type: RECORD_DATA, time, intervalMs: h.intervalMs, readings }
}

describe("golden vectors of block format v2", () => {
    test("golden-v2.ts holds exactly the data of golden-v2.json", () => {
        expect(JSON.parse(JSON.stringify(GOLDEN_V2))).toEqual(GOLDEN_V2_JSON)
    })

    test("tools/gen-vectors.ts reproduces the committed vectors (shared Ledger and independent encoder agreeing)", () => {
        expect(JSON.parse(JSON.stringify(buildGoldenV2().golden))).toEqual(GOLDEN_V2_JSON)
    })

    test("cover every record type, gap reason, channel coding and the edge cases of the spec questions", () => {
        const blocks = allBlocks()
        const decoded = blocks.map(b => b.decoded)
        expect(new Set(decoded.map(d => d.header.type))).toEqual(new Set([0, 1, 2]))
        expect(new Set(decoded.filter(d => d.gap).map(d => d.gap!.reason))).toEqual(new Set([1, 2, 3]))
        const codings = blocks.flatMap(b => b.codings || [])
        expect(codings).toContain(0) // fixed width 0: a constant channel
        expect(codings).toContain(33) // the full int32 swing
        expect(codings).toContain(64) // Rice(0)
        expect(codings.some(c => c !== null && c > 65)).toBe(true) // Rice(k), k > 1
        expect(codings).toContain(null) // a channel with no present value
        // The tie rule: fixed width where a Rice code takes as many bits (main block 2, worked example).
        expect(chainNamed("main").blocks[2].codings).toEqual([3, 64, 0])
        expect(decoded.some(d => d.header.time.unixTime !== undefined)).toBe(true)
        expect(decoded.some(d => d.readings && d.header.time.unixTime === undefined)).toBe(true)
        expect(decoded.some(d => d.readings && d.readings.some(r => r.every(v => v === null)))).toBe(true)
        expect(decoded.some(d => d.readings && d.readings.every(r => r[2] === null))).toBe(true)
        expect(decoded.some(d => d.header.readingCount === 255)).toBe(true)
        expect(decoded.some(d => d.header.intervalMs === 1 && d.header.type === RECORD_GENESIS)).toBe(true)
        expect(decoded.some(d => d.header.time.uptimeMs + (d.header.readingCount - 1) * d.header.intervalMs === MAX_TIME)).toBe(true)
        expect(decoded.some(d => d.header.time.unixTime === MAX_TIME - 1)).toBe(true)
        // A successor genesis block with a non-zero link, and a chain stepping from v1 to v2.
        expect(chainNamed("dropped").blocks[0].decoded.header.link).toBe(chainNamed("main").verify.summary.head!.hash)
        expect(chainNamed("upgrade").blocks.map(b => b.version)).toEqual([1, 1, 2, 2])
        for (const b of blocks) expect(b.hex.length / 2).toBeLessThanOrEqual(200)
    })

    describe.each(GOLDEN_V2.chains.map(c => [c.name, c] as [string, GoldenV2Chain]))("chain %s", (_name, chain) => {
        const key0 = hex(chain.key0)

        test("decodeBlock gives each block's decoded content", () => {
            for (const b of chain.blocks) expect(asGolden(decodeBlock(hex(b.hex)))).toEqual(b.decoded)
        })

        test("the shared encoder re-seals each block from its decoded content, byte for byte", () => {
            for (const b of chain.blocks) {
                const head = { seq: b.seq, link: hex(b.linkHex), key: hex(b.keyHex) }
                const { block, next } = sealBlock(nobleCrypto, deviceId, head, contentOf(b), b.version)
                expect(toHex(block.bytes)).toBe(b.hex)
                expect(toHex(block.hash)).toBe(b.hashHex)
                expect(toHex(next.link)).toBe(b.hashHex)
            }
        })

        test("each block's link is the hash of the block sealed before it; a genesis block's is its own", () => {
            const previous = chain.previousChain ? chainNamed(chain.previousChain).verify.summary.head!.hash : "00".repeat(32)
            chain.blocks.forEach((b, i) => expect(b.linkHex).toBe(i === 0 ? previous : chain.blocks[i - 1].hashHex))
            expect(chain.blocks[0].decoded.header.link).toBe(chain.blocks[0].linkHex)
        })

        for (const [name, crypto] of BACKENDS)
            test("each epoch key, tag and hash (" + name + ")", () => {
                let key = key0
                for (const b of chain.blocks) {
                    expect(toHex(deriveEpochKey(crypto, key0, deviceId, b.seq))).toBe(b.keyHex)
                    expect(toHex(key)).toBe(b.keyHex)
                    const bytes = hex(b.hex)
                    const content = Buffer.from(bytes.subarray(0, bytes.length - TAG_BYTES))
                    expect(toHex(blockTag(crypto, key, deviceId, content, hex(b.linkHex)))).toBe(b.tagHex)
                    expect(b.hex.endsWith(b.tagHex)).toBe(true)
                    expect(toHex(blockHash(crypto, hex(b.linkHex), bytes))).toBe(b.hashHex)
                    key = evolveKey(crypto, key, deviceId, b.seq)
                }
            })

        for (const [name, crypto] of BACKENDS)
            test("verifyChain accepts the exported blocks with the expected summary (" + name + ")", () => {
                const report = verifyChain(crypto, exportedBytes(chain), { deviceId, key0 })
                expect(report.failure).toBeUndefined()
                expect(JSON.parse(JSON.stringify(report))).toEqual(chain.verify)
            })

        test("verifyChain accepts the chain against its head as a known head, with and without K_0", () => {
            const head = chain.verify.summary.head!
            const expectedHead = { seq: head.seq, hash: hex(head.hash) }
            expect(verifyChain(nobleCrypto, exportedBytes(chain), { deviceId, key0, expectedHead }).ok).toBe(true)
            const unkeyed = verifyChain(nobleCrypto, exportedBytes(chain), { deviceId, expectedHead })
            expect(unkeyed.ok).toBe(true)
            expect(unkeyed.summary.authenticated).toBe(false)
        })
    })

    test("question 9: the summary's first and last times carry unixTime when that block's header has it", () => {
        const edges = chainNamed("edges").verify.summary
        expect(edges.first).toEqual({ boot: 0, uptimeMs: 0 })
        expect(edges.last).toEqual({ boot: 0, uptimeMs: MAX_TIME - 2, unixTime: MAX_TIME - 1 })
    })
})

describe("malformed v2 vectors", () => {
    const main = chainNamed("main")
    const key0 = hex(main.key0)

    test.each(GOLDEN_V2.malformed.map(m => [m.name, m] as [string, (typeof GOLDEN_V2.malformed)[0]]))(
        "%s is validly tagged under K_seq with the chain's link, yet rejected by decodeBlock",
        (_name, m) => {
            const bytes = hex(m.hex)
            const content = Buffer.from(bytes.subarray(0, bytes.length - TAG_BYTES))
            const link = hex(main.blocks[m.seq].linkHex)
            expect(toHex(blockTag(nobleCrypto, deriveEpochKey(nobleCrypto, key0, deviceId, m.seq), deviceId, content, link))).toBe(
                toHex(bytes.subarray(bytes.length - TAG_BYTES))
            )
            expect(() => decodeBlock(bytes)).toThrow(FormatError)
        }
    )

    test.each(GOLDEN_V2.malformed.map(m => [m.name, m] as [string, (typeof GOLDEN_V2.malformed)[0]]))(
        "%s in place of its block fails verification as malformed",
        (_name, m) => {
            const list = exportedBytes(main)
            list[m.seq] = hex(m.hex)
            expect(verifyChain(nobleCrypto, list, { deviceId, key0 }).failure).toMatchObject({ index: m.seq, code: "malformed" })
        }
    )
})

describe("tampered v2 chains fail as FORMAT.md says", () => {
    for (const [name, crypto] of BACKENDS)
        test.each(GOLDEN_V2.tampered.map(t => [t.name, t] as [string, (typeof GOLDEN_V2.tampered)[0]]))("%s (" + name + ")", (_name, t) => {
            const options: VerifyOptions = { deviceId }
            if (t.key0) options.key0 = hex(t.key0)
            if (t.expectedHead) options.expectedHead = { seq: t.expectedHead.seq, hash: hex(t.expectedHead.hash) }
            const report = verifyChain(crypto, t.blocks.map(hex), options)
            if (t.failure === null) expect(report.failure).toBeUndefined()
            else
                expect({ index: report.failure!.index, seq: report.failure!.seq, code: report.failure!.code }).toEqual({
                    seq: undefined,
                    ...t.failure,
                })
        })

    test("every failure code a v2 chain can give is among them", () => {
        const codes = new Set(GOLDEN_V2.tampered.map(t => t.failure && t.failure.code))
        for (const code of ["tag", "missing-blocks", "no-genesis", "empty", "truncated", "head-mismatch", "gap", "time", "version"])
            expect(codes.has(code)).toBe(true)
        expect(codes.has(null)).toBe(true)
    })
})

describe("the independent encoder agrees with the shared one beyond the vectors", () => {
    /** A small deterministic generator (xorshift), so a failure names a reproducible seed. */
    function random(seed: number) {
        let s = seed >>> 0 || 1
        return () => {
            s ^= s << 13
            s >>>= 0
            s ^= s >>> 17
            s ^= s << 5
            s >>>= 0
            return s / 4294967296
        }
    }

    test("data bodies of 2000 random blocks: quiet, jumpy, missing values, full int32 range", () => {
        for (let seed = 1; seed <= 2000; seed++) {
            const rnd = random(seed)
            const channels = 1 + Math.floor(rnd() * 8)
            const count = 1 + Math.floor(rnd() * 40)
            const spread = [0, 1, 4, 100, 70000, 2147483647][Math.floor(rnd() * 6)]
            const jumpy = rnd() < 0.5
            const missingRate = rnd() < 0.5 ? 0 : rnd() * 0.5
            const last: number[] = []
            for (let c = 0; c < channels; c++) last.push(Math.floor((rnd() - 0.5) * 1000))
            const readings: Reading[] = []
            for (let i = 0; i < count; i++) {
                const r: Reading = []
                for (let c = 0; c < channels; c++) {
                    if (rnd() < missingRate) {
                        r.push(null)
                        continue
                    }
                    const step = jumpy && rnd() < 0.1 ? spread : Math.floor(spread / 16)
                    const v = Math.max(-2147483648, Math.min(2147483647, last[c] + Math.round((rnd() - 0.5) * 2 * step)))
                    last[c] = v
                    r.push(v)
                }
                readings.push(r)
            }
            const builder = new ReadingsBuilder(channels)
            for (const r of readings) builder.add(r)
            const w = new ByteWriter(4096)
            builder.encode(w)
            const shared = toHex(w.finish())
            const spec = toHex(Buffer.from(specDataBody(readings, channels).body))
            if (shared !== spec) throw new Error("seed " + seed + ": shared " + shared + " spec " + spec)
        }
    })
})

describe("the v2 worked example in docs/FORMAT.md", () => {
    function exampleBlocks(): { whole: string; rows: string; link: string }[] {
        const start = FORMAT_MD.indexOf("<!-- worked-example-v2:start")
        const end = FORMAT_MD.indexOf("<!-- worked-example-v2:end -->")
        expect(start).toBeGreaterThan(0)
        return FORMAT_MD.slice(start, end)
            .split("#### Block ")
            .slice(1)
            .map(part => {
                const rows = part
                    .split("```")[1]
                    .split("\n")
                    .map(line => /^\s*\d+  ([0-9a-f]+)/.exec(line))
                    .filter(m => m)
                    .map(m => m![1])
                    .join("")
                return { whole: /whole block: `([0-9a-f]+)`/.exec(part)![1], rows, link: /- link = .* = `([0-9a-f]{64})`/.exec(part)![1] }
            })
    }

    test("shows golden v2 blocks with their links, and its annotated rows add up to each block's bytes", () => {
        const byHex = new Map(allBlocks().map(b => [b.hex, b]))
        const examples = exampleBlocks()
        expect(examples.length).toBe(4)
        for (const e of examples) {
            const vector = byHex.get(e.whole)
            expect(vector).toBeDefined()
            expect(vector!.version).toBe(2)
            expect(e.link).toBe(vector!.linkHex)
            expect(e.rows).toBe(e.whole)
        }
        // The example shows a genesis block, a Rice-coded data block and a gap record that drops blocks.
        const shown = examples.map(e => byHex.get(e.whole)!)
        expect(shown.some(b => b.type === "genesis")).toBe(true)
        expect(shown.some(b => (b.codings || []).some(c => c !== null && c >= 64))).toBe(true)
        expect(shown.some(b => b.decoded.gap && b.decoded.gap.lostBlocks > 0)).toBe(true)
    })
})
