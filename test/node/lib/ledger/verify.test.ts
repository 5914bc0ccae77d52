/** ChainVerifier: verifyChain's checks one block at a time, and the declared-drop rules it shares with the gateway. */
import { describe, expect, test } from "vitest"
import { decodeBlock } from "../../../../src/lib/ledger/chain"
import { ChainVerifier, initialVerifierState, lostReadingsText, MemoryHistory, verifyChain } from "../../../../src/lib/ledger/verify"
import { nodeCrypto } from "../../../../tools/lib/crypto"
import { buildChain, DEVICE_ID, testKey } from "../../helpers/chains"

const crypto = nodeCrypto

/** Blocks 0..dataBlocks sealed, firstLost..firstLost+lost-1 then dropped, and the gap record. */
function dropped(firstLost: number, lost: number, lastLostHash?: Buffer) {
    const c = buildChain(crypto, { gap: false, dataBlocks: 6 })
    const d = c.blocks.slice(firstLost, firstLost + lost)
    const [gap] = c.ledger.sealGap(
        { reason: 1, lostReadings: 8 * lost, lostBlocks: lost, firstLostSeq: firstLost, lastLostHash: lastLostHash ?? d[d.length - 1].hash, from: decodeBlock(d[0].bytes).header.time },
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
        expect(verifyChain(crypto, [...all.slice(0, 4), ...all.slice(6), gap], { deviceId: DEVICE_ID, key0: testKey() }).failure).toMatchObject({ code: "missing-blocks" })
    })

    test("a jump past the declared range is missing blocks", () => {
        const { all, gap } = dropped(2, 4)
        expect(verifyChain(crypto, [...all.slice(0, 4), ...all.slice(7), gap], { deviceId: DEVICE_ID, key0: testKey() }).failure).toMatchObject({ code: "missing-blocks" })
    })

    test("the block after the jump must link to the record's lastLostHash", () => {
        const { all, gap } = dropped(2, 4, Buffer.alloc(32, 9))
        // v2 does not store the link: the tag binds it, so a wrong lastLostHash fails the next block's tag.
        expect(verifyChain(crypto, [...all.slice(0, 4), ...all.slice(6), gap], { deviceId: DEVICE_ID, key0: testKey() }).failure).toMatchObject({ index: 4, code: "tag" })
    })
})

describe("how a gap record's count is told", () => {
    test("power-loss: up to N (an upper bound, FORMAT.md); backlog-full and sampling-stopped: exact", () => {
        expect(lostReadingsText("power-loss", 10)).toBe("up to 10 readings lost")
        expect(lostReadingsText("backlog-full", 4)).toBe("4 readings lost")
        expect(lostReadingsText("sampling-stopped", 1)).toBe("1 reading lost")
    })
})
