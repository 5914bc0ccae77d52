/**
 * Known-answer tests: RFC 4231 for HMAC-SHA256 under both Node crypto back ends, and the golden
 * vectors of block format v1 (test/vectors/golden.json, docs/FORMAT.md) against the shared
 * codec, key schedule and verifier. The golden blocks are re-sealed here from their decoded
 * content, independently of tools/gen-vectors.ts, so a codec change that alters a single byte
 * fails this file.
 */
import { readFileSync } from "node:fs"
import { describe, expect, test } from "vitest"
import { FormatError, fromHex, joinBytes, toHex } from "../../../../src/lib/codec/bytes"
import { decodeBlock, newChainHead, SealedBlock } from "../../../../src/lib/ledger/chain"
import { BlockTime, TAG_BYTES } from "../../../../src/lib/codec/format"
import { blockTag, deriveEpochKey, evolveKey } from "../../../../src/lib/ledger/keys"
import { Ledger } from "../../../../src/lib/ledger/ledger"
import { verifyChain } from "../../../../src/lib/ledger/verify"
import { asGolden, BACKENDS, gapBodyOf } from "../../helpers/golden"
import { nobleCrypto } from "../../../../tools/lib/crypto"
import { buildGolden, v1Tag } from "../../../../tools/gen-vectors"
import { GOLDEN, GoldenChain } from "../../../vectors/golden"

function readJson(relative: string) {
    return JSON.parse(readFileSync(new URL(relative, import.meta.url), "utf8"))
}

const RFC4231 = readJson("../../../vectors/rfc4231.json") as {
    cases: { case: number; key: string; data: string; hmacSha256: string; truncateBytes?: number }[]
}
const GOLDEN_JSON = readJson("../../../vectors/golden.json")
const FORMAT_MD = readFileSync(new URL("../../../../docs/FORMAT.md", import.meta.url), "utf8")

const deviceId = fromHex(GOLDEN.deviceId, "deviceId")
const hex = (text: string) => fromHex(text, "vector")
const chainNamed = (name: string) => GOLDEN.chains.find(c => c.name === name)!
const exportedBytes = (chain: GoldenChain) => chain.blocks.filter(b => b.exported).map(b => hex(b.hex))

describe("RFC 4231 HMAC-SHA256 test cases", () => {
    test("the file holds cases 1 to 7, case 5 truncated to 16 bytes", () => {
        expect(RFC4231.cases.map(c => c.case)).toEqual([1, 2, 3, 4, 5, 6, 7])
        expect(RFC4231.cases.filter(c => c.truncateBytes).map(c => [c.case, c.truncateBytes])).toEqual([[5, 16]])
    })

    for (const [name, crypto] of BACKENDS)
        test.each(RFC4231.cases)(name + " computes the HMAC of case $case", c => {
            const mac = crypto.hmacSha256(hex(c.key), hex(c.data))
            expect(mac.length).toBe(32)
            expect(toHex(mac).slice(0, 2 * (c.truncateBytes || 32))).toBe(c.hmacSha256)
        })
})

/** Seals a golden chain again with the reference Ledger, driving it as the firmware would. */
function reseal(chain: GoldenChain): SealedBlock[] {
    const previous = chain.previousChain ? chainNamed(chain.previousChain) : undefined
    const previousHead = previous ? hex(previous.blocks[previous.blocks.length - 1].hashHex) : undefined
    const ledger = new Ledger(nobleCrypto, deviceId, GOLDEN.channels, newChainHead(hex(chain.key0), previousHead), {
        intervalMs: GOLDEN.intervalMs,
        formatVersion: GOLDEN.formatVersion,
    })
    const sealed: SealedBlock[] = []
    for (const block of chain.blocks) {
        const d = block.decoded
        const time = d.header.time
        if (d.genesis) sealed.push(ledger.sealGenesis(time, d.genesis.firmware, d.genesis.board))
        else if (d.readings) {
            d.readings.forEach((reading, i) => {
                // Reading i is due at the block's time + i intervals; only reading 0's time is sealed.
                const at: BlockTime = { boot: time.boot, uptimeMs: time.uptimeMs + i * GOLDEN.intervalMs }
                if (time.unixTime !== undefined) at.unixTime = time.unixTime + (i * GOLDEN.intervalMs) / 1000
                expect(ledger.append(reading, at)).toEqual([])
            })
            sealed.push(ledger.sealOpen()!)
        } else {
            const g = d.gap!
            const gap = gapBodyOf(g)
            sealed.push(...ledger.sealGap(gap, time))
        }
    }
    return sealed
}

describe("golden vectors of block format v1", () => {
    test("golden.ts holds exactly the data of golden.json", () => {
        expect(JSON.parse(JSON.stringify(GOLDEN))).toEqual(GOLDEN_JSON)
    })

    test("tools/gen-vectors.ts reproduces the committed vectors", () => {
        expect(JSON.parse(JSON.stringify(buildGolden().golden))).toEqual(GOLDEN_JSON)
    })

    test("cover the cases the format promises", () => {
        const main = chainNamed("main").blocks
        const values = main.flatMap(b => (b.decoded.readings || []).flat())
        expect(values).toContain(-2147483648)
        expect(values).toContain(2147483647)
        expect(main.some(b => (b.decoded.readings || []).some(r => r.every(v => v === null)))).toBe(true)
        expect(main.some(b => b.decoded.readings && b.decoded.readings.every(r => r[2] === null))).toBe(true)
        expect(main.some(b => b.decoded.header.time.unixTime !== undefined)).toBe(true)
        const dropped = chainNamed("dropped").blocks
        expect(dropped.filter(b => !b.exported).map(b => b.seq)).toEqual([2, 3])
        expect(dropped.some(b => b.decoded.gap && b.decoded.gap.lostBlocks === 2)).toBe(true)
        for (const chain of GOLDEN.chains) for (const b of chain.blocks) expect(b.hex.length / 2).toBeLessThanOrEqual(200)
    })

    describe.each(GOLDEN.chains.map(c => [c.name, c] as [string, GoldenChain]))("chain %s", (_name, chain) => {
        const key0 = hex(chain.key0)

        test("re-sealing the same readings gives the same bytes, block for block", () => {
            const sealed = reseal(chain)
            expect(sealed.map(b => b.seq)).toEqual(chain.blocks.map(b => b.seq))
            sealed.forEach((b, i) => {
                expect(toHex(b.bytes)).toBe(chain.blocks[i].hex)
                expect(toHex(b.hash)).toBe(chain.blocks[i].hashHex)
            })
        })

        for (const [name, crypto] of BACKENDS) {
            test("deriveEpochKey and evolveKey give each block's epoch key K_seq (" + name + ")", () => {
                let key = key0
                for (const b of chain.blocks) {
                    expect(toHex(deriveEpochKey(crypto, key0, deviceId, b.seq))).toBe(b.keyHex)
                    expect(toHex(key)).toBe(b.keyHex)
                    key = evolveKey(crypto, key, deviceId, b.seq)
                }
            })

            test("blockTag under K_seq gives each tag, and SHA-256 each hash (" + name + ")", () => {
                for (const b of chain.blocks) {
                    const bytes = hex(b.hex)
                    const content = bytes.subarray(0, bytes.length - TAG_BYTES)
                    expect(toHex(blockTag(crypto, hex(b.keyHex), deviceId, Buffer.from(content)))).toBe(b.tagHex)
                    expect(b.hex.endsWith(b.tagHex)).toBe(true)
                    expect(toHex(crypto.sha256(bytes))).toBe(b.hashHex)
                }
            })
        }

        test("decodeBlock gives each block's decoded content", () => {
            for (const b of chain.blocks) expect(asGolden(decodeBlock(hex(b.hex)))).toEqual(b.decoded)
        })

        test("each block links to the SHA-256 of the block sealed before it", () => {
            for (let i = 1; i < chain.blocks.length; i++) expect(chain.blocks[i].decoded.header.link).toBe(chain.blocks[i - 1].hashHex)
        })

        for (const [name, crypto] of BACKENDS)
            test("verifyChain accepts the exported blocks with the expected summary (" + name + ")", () => {
                const report = verifyChain(crypto, exportedBytes(chain), { deviceId, key0 })
                expect(report.failure).toBeUndefined()
                expect(report.ok).toBe(true)
                expect(JSON.parse(JSON.stringify(report))).toEqual(chain.verify)
            })

        test("verifyChain accepts the chain against its own head as the known head", () => {
            const head = chain.verify.summary.head!
            const report = verifyChain(nobleCrypto, exportedBytes(chain), {
                deviceId,
                key0,
                expectedHead: { seq: head.seq, hash: hex(head.hash) },
            })
            expect(report.ok).toBe(true)
        })

        test("without K_0 the chain still passes format, seq and link checks, unauthenticated", () => {
            const report = verifyChain(nobleCrypto, exportedBytes(chain), { deviceId })
            expect(report.ok).toBe(true)
            expect(report.summary.authenticated).toBe(false)
        })
    })
})

describe("the verifier on golden chains that were tampered with", () => {
    const main = chainNamed("main")
    const key0 = hex(main.key0)
    const blocks = () => exportedBytes(main)
    const failureOf = (list: Buffer[], options: object = {}) => verifyChain(nobleCrypto, list, { deviceId, key0, ...options }).failure

    test("reports a chain cut short at the end as truncated against a known head", () => {
        const head = main.verify.summary.head!
        const list = blocks().slice(0, -1)
        expect(verifyChain(nobleCrypto, list, { deviceId, key0 }).ok).toBe(true)
        expect(failureOf(list, { expectedHead: { seq: head.seq, hash: hex(head.hash) } })).toMatchObject({ code: "truncated" })
    })

    test("reports a different block at the known head's seq as head-mismatch", () => {
        const head = main.verify.summary.head!
        expect(failureOf(blocks(), { expectedHead: { seq: head.seq, hash: Buffer.alloc(32) } })).toMatchObject({ code: "head-mismatch" })
    })

    test("rejects a block whose tag was made under the next epoch's key", () => {
        const list = blocks()
        const d = decodeBlock(list[2])
        const k3 = hex(main.blocks[3].keyHex)
        list[2] = joinBytes([d.content, blockTag(nobleCrypto, k3, deviceId, d.content)])
        expect(failureOf(list)).toMatchObject({ index: 2, seq: 2, code: "tag" })
    })

    test("rejects a block removed from the middle when no gap record declares it", () => {
        const list = blocks()
        list.splice(3, 1)
        expect(failureOf(list)).toMatchObject({ index: 3, seq: 4, code: "missing-blocks" })
    })

    test("rejects dropped blocks once the gap record that declares them is removed", () => {
        const dropped = chainNamed("dropped")
        const list = dropped.blocks.filter(b => b.exported && !b.decoded.gap).map(b => hex(b.hex))
        expect(verifyChain(nobleCrypto, list, { deviceId, key0: hex(dropped.key0) }).failure).toMatchObject({
            index: 2,
            seq: 4,
            code: "missing-blocks",
        })
    })

    test("rejects blocks of a chain under another device id", () => {
        expect(verifyChain(nobleCrypto, blocks(), { deviceId: hex("0000000000000001"), key0 }).failure).toMatchObject({
            index: 0,
            code: "device-mismatch",
        })
    })

    test("rejects an empty list and a list that does not start with the genesis block", () => {
        expect(failureOf([])).toMatchObject({ code: "empty" })
        expect(failureOf(blocks().slice(1))).toMatchObject({ index: 0, code: "no-genesis" })
    })
})

describe("malformed vectors", () => {
    const main = chainNamed("main")
    const key0 = hex(main.key0)

    test.each(GOLDEN.malformed.map(m => [m.name, m] as [string, (typeof GOLDEN.malformed)[0]]))(
        "%s is validly tagged yet rejected by decodeBlock",
        (_name, m) => {
            const bytes = hex(m.hex)
            const content = Buffer.from(bytes.subarray(0, bytes.length - TAG_BYTES))
            const tag = bytes.subarray(bytes.length - TAG_BYTES)
            // v1 vectors: the v1 tag, also over the one whose version byte says 2.
            expect(toHex(v1Tag(deriveEpochKey(nobleCrypto, key0, deviceId, m.seq), deviceId, content))).toBe(toHex(tag))
            expect(() => decodeBlock(bytes)).toThrow(FormatError)
        }
    )

    test.each(GOLDEN.malformed.map(m => [m.name, m] as [string, (typeof GOLDEN.malformed)[0]]))(
        "%s in place of its block fails verification as malformed",
        (_name, m) => {
            const list = exportedBytes(main)
            list[m.seq] = hex(m.hex)
            expect(verifyChain(nobleCrypto, list, { deviceId, key0 }).failure).toMatchObject({ index: m.seq, code: "malformed" })
        }
    )
})

describe("the worked example in docs/FORMAT.md", () => {
    /** The example's blocks: each "whole block" line, and the hex column of its annotated rows. */
    function exampleBlocks(): { whole: string; rows: string }[] {
        const start = FORMAT_MD.indexOf("<!-- worked-example:start")
        const end = FORMAT_MD.indexOf("<!-- worked-example:end -->")
        expect(start).toBeGreaterThan(0)
        const section = FORMAT_MD.slice(start, end)
        const out: { whole: string; rows: string }[] = []
        for (const part of section.split("#### Block ").slice(1)) {
            const fence = part.split("```")[1]
            const rows = fence
                .split("\n")
                .map(line => /^\s*\d+  ([0-9a-f]+)/.exec(line))
                .filter(m => m)
                .map(m => m![1])
                .join("")
            const whole = /whole block: `([0-9a-f]+)`/.exec(part)![1]
            out.push({ whole, rows })
        }
        return out
    }

    test("shows golden blocks, and its annotated rows add up to each block's bytes", () => {
        const golden = new Set(GOLDEN.chains.flatMap(c => c.blocks.map(b => b.hex)))
        const examples = exampleBlocks()
        expect(examples.length).toBe(4)
        for (const e of examples) {
            expect(golden.has(e.whole)).toBe(true)
            expect(e.rows).toBe(e.whole)
        }
    })
})
