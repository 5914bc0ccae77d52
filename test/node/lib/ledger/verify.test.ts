/** ChainVerifier: verifyChain's checks one block at a time, and the declared-drop rules it shares with the gateway. */
import { BlockContent, decodeBlock, newChainHead, sealBlock, SealedBlock } from "../../../../src/lib/ledger/chain"
import { GapBody, RECORD_DATA, RECORD_GAP, RECORD_GENESIS } from "../../../../src/lib/codec/format"
import { ReadingsBuilder } from "../../../../src/lib/codec/readings"
import { describe, expect, test } from "vitest"
import { ChainVerifier, initialVerifierState, lostReadingsText, MemoryHistory, verifyChain } from "../../../../src/lib/ledger/verify"
import { nodeCrypto } from "../../../../tools/lib/crypto"
import { buildChain, DEVICE_ID, testKey } from "../../helpers/chains"

const crypto = nodeCrypto

/** Blocks 0..dataBlocks sealed, firstLost..firstLost+lost-1 then dropped, and the gap record. */
function dropped(firstLost: number, lost: number, lastLostHash?: Buffer) {
    const c = buildChain(crypto, { gap: false, dataBlocks: 6 })
    const d = c.blocks.slice(firstLost, firstLost + lost)
    const [gap] = c.ledger.sealGap(
        {
            reason: 1,
            lostReadings: 8 * lost,
            lostBlocks: lost,
            firstLostSeq: firstLost,
            lastLostHash: lastLostHash ?? d[d.length - 1].hash,
            from: decodeBlock(d[0].bytes).header.time,
        },
        { boot: 0, uptimeMs: 500000 }
    )
    return { all: c.blocks.map(b => b.bytes), gap: gap.bytes }
}

describe("ChainVerifier", () => {
    test("accepts a chain block by block, and a copy of its state carries on", () => {
        const blocks = buildChain(crypto).blocks.map(b => b.bytes)
        const history = new MemoryHistory()
        const first = new ChainVerifier(crypto, DEVICE_ID, initialVerifierState(testKey()), history)
        for (let i = 0; i < 3; i++) expect(first.next(blocks, i).ok).toBe(true)
        const second = new ChainVerifier(crypto, DEVICE_ID, first.state(), history)
        const rest = blocks.slice(3)
        for (let i = 0; i < rest.length; i++) expect(second.next(rest, i)).toMatchObject({ ok: true })
        expect(second.state().expectedSeq).toBe(blocks.length)
    })

    test("a failed block leaves the state as it was", () => {
        const blocks = buildChain(crypto).blocks.map(b => b.bytes)
        const v = new ChainVerifier(crypto, DEVICE_ID, initialVerifierState(testKey()), new MemoryHistory())
        v.next(blocks, 0)
        const before = v.state()
        expect(v.next([blocks[2]], 0)).toMatchObject({ ok: false, code: "missing-blocks" })
        expect(v.state()).toEqual(before)
        expect(v.next(blocks, 1).ok).toBe(true)
    })

    test("reports the skipped range of an accepted jump", () => {
        const { all, gap } = dropped(2, 2)
        const kept = [...all.slice(0, 2), ...all.slice(4), gap]
        const v = new ChainVerifier(crypto, DEVICE_ID, initialVerifierState(testKey()), new MemoryHistory())
        v.next(kept, 0)
        v.next(kept, 1)
        expect(v.next(kept, 2)).toMatchObject({ ok: true, skippedFrom: 2, skippedTo: 3 })
    })
})

describe("declared drops overlapping held blocks (the device's ack was lost)", () => {
    test("verifyChain accepts a jump whose record starts before it, at blocks the chain holds", () => {
        // Held 0..3, dropped 2..5 by the device: the export has 0..3, 6.., the record.
        const { all, gap } = dropped(2, 4)
        const report = verifyChain(crypto, [...all.slice(0, 4), ...all.slice(6), gap], { deviceId: DEVICE_ID, key0: testKey() })
        expect(report.failure).toBeUndefined()
        expect(report.summary.gaps[0]).toMatchObject({ firstLostSeq: 2, lostBlocks: 4 })
    })

    test("still rejects a record whose range ends anywhere but just before the jump", () => {
        const { all, gap } = dropped(2, 3)
        expect(
            verifyChain(crypto, [...all.slice(0, 4), ...all.slice(6), gap], { deviceId: DEVICE_ID, key0: testKey() }).failure
        ).toMatchObject({ code: "missing-blocks" })
    })

    test("a jump past the declared range is missing blocks", () => {
        const { all, gap } = dropped(2, 4)
        expect(
            verifyChain(crypto, [...all.slice(0, 4), ...all.slice(7), gap], { deviceId: DEVICE_ID, key0: testKey() }).failure
        ).toMatchObject({ code: "missing-blocks" })
    })

    test("the block after the jump must link to the record's lastLostHash", () => {
        const { all, gap } = dropped(2, 4, Buffer.alloc(32, 9))
        // v2 does not store the link: the tag binds it, so a wrong lastLostHash fails the next block's tag.
        expect(
            verifyChain(crypto, [...all.slice(0, 4), ...all.slice(6), gap], { deviceId: DEVICE_ID, key0: testKey() }).failure
        ).toMatchObject({ index: 4, code: "tag" })
    })
})

describe("how a gap record's count is told", () => {
    test("power-loss: up to N (an upper bound, FORMAT.md); backlog-full and sampling-stopped: exact", () => {
        expect(lostReadingsText("power-loss", 10)).toBe("up to 10 readings lost")
        expect(lostReadingsText("backlog-full", 4)).toBe("4 readings lost")
        expect(lostReadingsText("sampling-stopped", 1)).toBe("1 reading lost")
    })
})

describe("issue 14: one answer per question (FORMAT.md)", () => {
    const genesis = { deviceId: DEVICE_ID, firmware: "t", board: "b", channels: [{ name: "a", unit: "u", exponent: 0 }] }
    const data = (uptimeMs: number, values: number[], intervalMs = 1000): BlockContent => {
        const readings = new ReadingsBuilder(1)
        for (const v of values) readings.add([v])
        return { type: RECORD_DATA, time: { boot: 0, uptimeMs }, intervalMs, readings }
    }
    const gapOf = (g: GapBody, uptimeMs: number): BlockContent => ({
        type: RECORD_GAP,
        time: { boot: 0, uptimeMs },
        intervalMs: 1000,
        gap: g,
    })
    /** Seals the contents in turn as one v2 chain under testKey(). */
    function sealAll(contents: BlockContent[]): SealedBlock[] {
        let head = newChainHead(testKey())
        const out: SealedBlock[] = []
        for (const c of contents) {
            const { block, next } = sealBlock(crypto, DEVICE_ID, head, c)
            out.push(block)
            head = next
        }
        return out
    }
    const start: BlockContent = { type: RECORD_GENESIS, time: { boot: 0, uptimeMs: 0 }, intervalMs: 1000, genesis }
    const verifyBlocks = (blocks: Buffer[], expectedHead?: { seq: number; hash: Buffer }) =>
        verifyChain(crypto, blocks, { deviceId: DEVICE_ID, key0: testKey(), expectedHead })

    test("1. a genesis block with a seq other than 0 is malformed (the decoder's rule); a chain not starting with a genesis block is no-genesis", () => {
        const [g] = sealAll([start])
        const seq5 = Buffer.from(g.bytes)
        seq5[3] = 5
        expect(() => decodeBlock(seq5)).toThrow(/seq 0/)
        expect(verifyBlocks([seq5]).failure).toMatchObject({ index: 0, code: "malformed" })
        expect(
            verifyBlocks(
                sealAll([start, data(1000, [1])])
                    .slice(1)
                    .map(b => b.bytes)
            ).failure
        ).toMatchObject({ index: 0, code: "no-genesis" })
    })

    test("3. the index of empty, truncated and head-mismatch is where the block concerned is or would be", () => {
        const blocks = sealAll([start, data(1000, [1, 2]), data(3000, [3]), data(4000, [4])])
        const bytes = blocks.map(b => b.bytes)
        expect(verifyBlocks([]).failure).toMatchObject({ index: 0, code: "empty" })
        expect(verifyBlocks(bytes.slice(0, 2), { seq: 3, hash: blocks[3].hash }).failure).toMatchObject({
            index: 2,
            seq: 3,
            code: "truncated",
        })
        expect(verifyBlocks(bytes, { seq: 2, hash: Buffer.alloc(32, 1) }).failure).toMatchObject({
            index: 2,
            seq: 2,
            code: "head-mismatch",
        })
    })

    test("5. a gap record that declares a drop range already declared is refused; a wider one is accepted", () => {
        const fourBlocks = [start, data(1000, [1]), data(2000, [2]), data(3000, [3]), data(4000, [4])]
        const pre = sealAll(fourBlocks)
        const lost = (to: number): GapBody => ({
            reason: 1,
            lostReadings: to,
            lostBlocks: to,
            firstLostSeq: 1,
            lastLostHash: pre[to].hash,
            from: { boot: 0, uptimeMs: 1000 },
        })
        const twice = sealAll([...fourBlocks, gapOf(lost(2), 5000), gapOf(lost(2), 5000)])
        expect(verifyBlocks(twice.map(b => b.bytes)).failure).toMatchObject({ index: 6, code: "gap" })
        const wider = sealAll([...fourBlocks, gapOf(lost(2), 5000), gapOf(lost(3), 5000)])
        expect(verifyBlocks(wider.map(b => b.bytes)).failure).toBeUndefined()
    })

    test("6. a block starting before the last reading of the block before fails as time", () => {
        // Readings at 0..10 s, then a block from 5 s: header times go forward, readings do not.
        const overlap = sealAll([start, data(0, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), data(5000, [1])])
        expect(verifyBlocks(overlap.map(b => b.bytes)).failure).toMatchObject({ index: 2, code: "time" })
        const after = sealAll([start, data(0, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), data(10000, [1])])
        expect(verifyBlocks(after.map(b => b.bytes)).failure).toBeUndefined()
    })

    test("7. v2 refuses intervalMs 0 on any record and a last reading past 2^53 - 1 ms", () => {
        expect(() => sealAll([{ ...start, intervalMs: 0 }]).map(b => decodeBlock(b.bytes))).toThrow(/interval of 0/)
        expect(() =>
            sealAll([start, gapOf({ reason: 3, lostReadings: 1, lostBlocks: 0, firstLostSeq: 0, from: { boot: 0, uptimeMs: 0 } }, 5)]).map(
                b => ({ ...b, c: decodeBlock(b.bytes) })
            )
        ).not.toThrow()
        const gap0 = sealAll([
            start,
            { ...gapOf({ reason: 3, lostReadings: 1, lostBlocks: 0, firstLostSeq: 0, from: { boot: 0, uptimeMs: 0 } }, 5), intervalMs: 0 },
        ])
        expect(() => decodeBlock(gap0[1].bytes)).toThrow(/interval of 0/)
        const late = sealAll([start, data(2 ** 53 - 1000, [1, 2], 999)]) // last reading at 2^53 - 1
        expect(() => decodeBlock(late[1].bytes)).not.toThrow()
        const past = sealAll([start, data(2 ** 53 - 1000, [1, 2], 1000)]) // at 2^53
        expect(() => decodeBlock(past[1].bytes)).toThrow(/beyond 2\^53/)
    })

    test("9. summary times are header times and carry unixTime when the block has it", () => {
        const blocks = sealAll([start, { ...data(1000, [1, 2]), time: { boot: 0, uptimeMs: 1000, unixTime: 1767225600 } }])
        const report = verifyBlocks(blocks.map(b => b.bytes))
        expect(report.summary.first).toEqual({ boot: 0, uptimeMs: 0 })
        expect(report.summary.last).toEqual({ boot: 0, uptimeMs: 1000, unixTime: 1767225600 })
    })

    test("a chain may step from v1 to v2 (the first v2 block's link is the last v1 block's hash), never back", () => {
        const ledger1 = sealAll([start]) // v2 genesis, for the refusal below
        let head = newChainHead(testKey())
        const v1g = sealBlock(crypto, DEVICE_ID, head, start, 1)
        const v1d = sealBlock(crypto, DEVICE_ID, v1g.next, data(1000, [1]), 1)
        const v2d = sealBlock(crypto, DEVICE_ID, v1d.next, data(2000, [2]))
        expect(verifyBlocks([v1g.block.bytes, v1d.block.bytes, v2d.block.bytes]).failure).toBeUndefined()
        const back = sealBlock(crypto, DEVICE_ID, sealBlock(crypto, DEVICE_ID, newChainHead(testKey()), start).next, data(1000, [1]), 1)
        expect(verifyBlocks([ledger1[0].bytes, back.block.bytes]).failure).toMatchObject({ index: 1, code: "version" })
        head = v2d.next
        expect(head.seq).toBe(3)
    })
})
