/** A device's observed block period from its stored blocks' device times (tools/gateway/cadence.ts). */
import { describe, expect, test } from "vitest"
import { RECORD_DATA, RECORD_GAP, RECORD_GENESIS } from "../../../src/lib/codec/format"
import { BlockTimeRow, blockPeriodMs } from "../../../tools/gateway/cadence"

const HOUR = 3600000

/** Data blocks seq from.., one every `periodMs` of boot `boot` starting at uptime `start`. */
function dataBlocks(count: number, periodMs: number, options: { from?: number; boot?: number; start?: number } = {}): BlockTimeRow[] {
    const from = options.from ?? 1
    return Array.from({ length: count }, (_, i) => ({
        seq: from + i,
        type: RECORD_DATA,
        boot: options.boot ?? 0,
        uptimeMs: (options.start ?? 60000) + i * periodMs,
    }))
}

describe("blockPeriodMs", () => {
    test("is the time between consecutive data blocks of one boot: hourly blocks give an hour", () => {
        expect(blockPeriodMs(dataBlocks(9, HOUR))).toBe(HOUR)
    })

    test("takes the blocks in seq order whatever order they come in (the store gives newest first)", () => {
        expect(blockPeriodMs(dataBlocks(9, HOUR).reverse())).toBe(HOUR)
    })

    test("is the median, so one short block (sealed early by a reboot or a full block) does not move it", () => {
        const blocks = dataBlocks(8, 30000)
        blocks[3] = { ...blocks[3], uptimeMs: blocks[2].uptimeMs + 1000 }
        blocks.push({ seq: 9, type: RECORD_DATA, boot: 0, uptimeMs: blocks[7].uptimeMs + 10 * HOUR })
        expect(blockPeriodMs(blocks)).toBe(30000)
    })

    test("averages the two middle periods of an even count", () => {
        const blocks = [0, 1000, 3000].map((uptimeMs, i) => ({ seq: i + 1, type: RECORD_DATA, boot: 0, uptimeMs }))
        expect(blockPeriodMs(blocks)).toBe(1500)
    })

    test("ignores a pair across a reboot (uptime restarts)", () => {
        const blocks = [
            ...dataBlocks(3, HOUR, { from: 1, boot: 0, start: 50 * HOUR }),
            ...dataBlocks(2, HOUR, { from: 4, boot: 1, start: 1000 }),
        ]
        // Periods within boot 0: 1 h, 1 h; within boot 1: 1 h; across (50 h + 2 h -> 1 s) ignored.
        expect(blockPeriodMs(blocks)).toBe(HOUR)
        // A device rebooting every 2 hours, one block per boot but the last: the pairs across
        // boots (uptime differences that mean nothing) would say 2 h; its one same-boot pair, 1 h.
        const rebooting = [1, 3, 5, 7, 8].map((hours, i) => ({
            seq: i + 1,
            type: RECORD_DATA,
            boot: Math.min(i, 3),
            uptimeMs: hours * HOUR,
        }))
        expect(blockPeriodMs(rebooting)).toBe(HOUR)
    })

    test("leaves genesis and gap records out: they are sealed at a boot or a loss, off the rhythm", () => {
        const blocks: BlockTimeRow[] = [
            { seq: 0, type: RECORD_GENESIS, boot: 0, uptimeMs: 0 },
            ...dataBlocks(2, HOUR, { from: 1, start: 1000 }),
            { seq: 3, type: RECORD_GAP, boot: 0, uptimeMs: 1000 + HOUR + 5000 },
            ...dataBlocks(2, HOUR, { from: 4, start: 1000 + 2 * HOUR }),
        ]
        expect(blockPeriodMs(blocks)).toBe(HOUR)
    })

    test.each<[string, BlockTimeRow[]]>([
        ["no block", []],
        ["one data block", dataBlocks(1, HOUR)],
        ["the genesis and one data block", [{ seq: 0, type: RECORD_GENESIS, boot: 0, uptimeMs: 0 }, ...dataBlocks(1, HOUR)]],
        ["two data blocks of different boots", [...dataBlocks(1, HOUR, { boot: 0 }), ...dataBlocks(1, HOUR, { from: 2, boot: 1 })]],
        ["two data blocks at the same uptime", [...dataBlocks(1, HOUR), ...dataBlocks(1, HOUR, { from: 2 })]],
    ])("is null with %s (no usable pair)", (_, blocks) => {
        expect(blockPeriodMs(blocks)).toBeNull()
    })
})
