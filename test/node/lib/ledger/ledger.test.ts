import { describe, expect, test } from "vitest"
import { decodeBlock, decodeContent, newChainHead } from "../../../../src/lib/ledger/chain"
import { GAP_POWER_LOSS, RECORD_DATA, RECORD_GAP } from "../../../../src/lib/codec/format"
import { Ledger } from "../../../../src/lib/ledger/ledger"
import { MISSING } from "../../../../src/lib/codec/readings"
import { verifyChain } from "../../../../src/lib/ledger/verify"
import { nodeCrypto } from "../../../../tools/lib/crypto"
import { CHANNELS, DEVICE_ID, testKey } from "../../helpers/chains"

function ledger(options: { maxReadingsPerBlock?: number; maxBlockAgeMs?: number } = {}, key = testKey()) {
    const l = new Ledger(nodeCrypto, DEVICE_ID, CHANNELS, newChainHead(key), { intervalMs: 1000, ...options })
    const genesis = l.sealGenesis({ boot: 0, uptimeMs: 0 }, "fw", "b")
    return { l, genesis }
}

describe("ledger", () => {
    test("refuses readings before the genesis block", () => {
        const l = new Ledger(nodeCrypto, DEVICE_ID, CHANNELS, newChainHead(testKey()), { intervalMs: 1000 })
        expect(() => l.append([1, 2], { boot: 0, uptimeMs: 0 })).toThrow(RangeError)
    })

    test("wipes K_0 once the genesis block is sealed (forward security)", () => {
        const key = testKey()
        ledger({}, key)
        expect(key.equals(Buffer.alloc(32))).toBe(true)
    })

    test("seals when the next reading would not fit, and never over 200 bytes", () => {
        const { l } = ledger()
        const sealed = []
        for (let i = 0; i < 200; i++) sealed.push(...l.append([i * 104729, -i * 7919], { boot: 0, uptimeMs: 1000 * (i + 1) }))
        expect(sealed.length).toBeGreaterThan(2)
        for (const b of sealed) expect(b.bytes.length).toBeLessThanOrEqual(200)
        expect(Math.max(...sealed.map(b => b.bytes.length))).toBeGreaterThan(180)
    })

    test("seals at maxReadingsPerBlock", () => {
        const { l } = ledger({ maxReadingsPerBlock: 3 })
        const sealed = [0, 1, 2].flatMap(i => l.append([i, i], { boot: 0, uptimeMs: 1000 * (i + 1) }))
        expect(sealed.map(b => decodeBlock(b.bytes).readings!.length)).toEqual([3])
    })

    test("seals on tick once the open block reaches its time limit, not before", () => {
        const { l } = ledger({ maxBlockAgeMs: 5000 })
        l.append([1, 1], { boot: 0, uptimeMs: 1000 })
        expect(l.tick({ boot: 0, uptimeMs: 5999 })).toBeUndefined()
        expect(l.tick({ boot: 0, uptimeMs: 6000 })!.type).toBe(RECORD_DATA)
    })

    test.each([
        ["a reading off the block's time grid", { boot: 0, uptimeMs: 2500 }],
        ["a reading of another boot", { boot: 1, uptimeMs: 2000 }],
    ])("starts a new block for %s", (_name, time) => {
        const { l } = ledger()
        l.append([1, 1], { boot: 0, uptimeMs: 1000 })
        const sealed = l.append([2, 2], time)
        expect(sealed.length).toBe(1)
        expect(l.openBlockTime()).toEqual(time)
    })

    test("seals the open block before a gap record, and the chain verifies", () => {
        const { l, genesis } = ledger()
        l.append([1, 1], { boot: 0, uptimeMs: 1000 })
        const sealed = l.sealGap(
            { reason: GAP_POWER_LOSS, lostReadings: 2, lostBlocks: 0, firstLostSeq: 0, from: { boot: 0, uptimeMs: 2000 } },
            { boot: 1, uptimeMs: 5 }
        )
        expect(sealed.map(b => b.type)).toEqual([RECORD_DATA, RECORD_GAP])
        expect(
            verifyChain(
                nodeCrypto,
                [genesis, ...sealed].map(b => b.bytes),
                { deviceId: DEVICE_ID, key0: testKey() }
            ).ok
        ).toBe(true)
    })

    test.each([
        ["on the open block's grid", { boot: 0, uptimeMs: 2000 }],
        ["off the open block's grid", { boot: 0, uptimeMs: 2500 }],
        ["of another boot", { boot: 1, uptimeMs: 0 }],
    ])("refuses a bad reading %s, naming the channel, and seals nothing", (_name, time) => {
        const { l } = ledger()
        l.append([1, 1], { boot: 0, uptimeMs: 1000 })
        expect(() => l.append([2, 0.5], time)).toThrow(/^channel 1: /)
        expect(l.openReadingCount()).toBe(1)
        expect(l.openReadings()).toEqual([[1, 1]])
        expect(l.append([2, 2], { boot: 0, uptimeMs: 2000 })).toEqual([])
        expect(l.openReadings()).toEqual([
            [1, 1],
            [2, 2],
        ])
    })

    test("counts and rebuilds the open block's readings, missing values included", () => {
        const { l } = ledger()
        expect(l.openReadingCount()).toBe(0)
        expect(l.openReadings()).toEqual([])
        const readings = [
            [5, -5],
            [MISSING, 7],
            [-(2 ** 31), 2 ** 31 - 1],
            [6, MISSING],
        ]
        readings.forEach((r, i) => expect(l.append(r, { boot: 0, uptimeMs: 1000 * (i + 1) }).length).toBe(0))
        expect(l.openReadingCount()).toBe(4)
        expect(l.openReadings()).toEqual(readings)
        l.sealOpen()
        expect(l.openReadingCount()).toBe(0)
    })

    test("seals a checkpoint as the block the open block would have been, and refuses one of another seq", () => {
        const { l } = ledger()
        for (let i = 0; i < 5; i++) l.append([i, -i], { boot: 0, uptimeMs: 1000 * (i + 1) })
        const checkpoint = decodeContent(l.openContent()!)
        const { l: other } = ledger()
        const sealed = l.sealOpen()!
        expect(other.sealCheckpoint(checkpoint).bytes.equals(sealed.bytes)).toBe(true)
        // Sealed at seq 1: the other ledger is now at seq 2, so the same checkpoint is not its next block.
        expect(() => other.sealCheckpoint(checkpoint)).toThrow(RangeError)
    })
})
