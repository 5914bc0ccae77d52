/**
 * The worst-case blocks of the device's ledger limits test (test/device/helpers/limitcases.ts)
 * checked against the format: each case's reading count is recomputed with the independent v2
 * encoder (tools/lib/specv2.ts, written from docs/FORMAT.md) as the most readings whose block
 * fits 200 bytes, and the shared Ledger seals each case at exactly that count (without the
 * device's cap) and at the count the device test expects (with it). So the device test, which
 * asserts these counts, fails if the ledger's v2 size limit is off by a reading.
 */
import { describe, expect, test } from "vitest"
import { newChainHead, decodeBlock, SealedBlock } from "../../../../src/lib/ledger/chain"
import { Ledger } from "../../../../src/lib/ledger/ledger"
import { DEFAULT_MAX_VALUES_PER_BLOCK } from "../../../../src/lib/store/defaults"
import { nobleCrypto } from "../../../../tools/lib/crypto"
import { specData, SPEC_RICE } from "../../../../tools/lib/specv2"
import { LIMIT_CASES, LIMIT_INTERVAL_MS, LimitCase, limitExpected, limitReadings, limitTime } from "../../../device/helpers/limitcases"

const deviceId = Buffer.from("12abdd2289421234", "hex")

function label(c: LimitCase): string {
    return c.channels + " ch, width " + c.width + (c.missing ? ", missing" : "") + (c.rice ? ", rice" : "")
}

/** The most readings (up to 255) whose v2 block at seq 1 fits 200 bytes, and the codings of that block. */
function formatLimit(c: LimitCase): { readings: number; codings: (number | undefined)[] } {
    const next = limitReadings(c)
    const readings = []
    let best = { readings: 0, codings: [] as (number | undefined)[] }
    for (let n = 1; n <= 255; n++) {
        readings.push(next(n - 1))
        const d = specData(1, limitTime(0), LIMIT_INTERVAL_MS, readings, c.channels)
        if (d.content.length + 16 > 200) break
        best = { readings: n, codings: d.channels.map(ch => ch.code) }
    }
    return best
}

/** Feeds the case to the shared Ledger until it seals; returns the readings of the first data block. */
function sealedCount(c: LimitCase, maxValuesPerBlock?: number): number {
    const channels = []
    for (let i = 0; i < c.channels; i++) channels.push({ name: "c" + i, unit: "u", exponent: 0 })
    const ledger = new Ledger(nobleCrypto, deviceId, channels, newChainHead(Buffer.alloc(32)), {
        intervalMs: LIMIT_INTERVAL_MS,
        maxValuesPerBlock,
    })
    ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "test", "simulator")
    const next = limitReadings(c)
    let sealed: readonly SealedBlock[] = []
    for (let i = 0; i <= 255 && sealed.length === 0; i++) sealed = ledger.append(next(i), limitTime(i))
    expect(sealed.length).toBeGreaterThan(0)
    expect(sealed[0].bytes.length).toBeLessThanOrEqual(200)
    return decodeBlock(sealed[0].bytes).header.readingCount
}

describe("the device's worst-case blocks against the v2 format", () => {
    test.each(LIMIT_CASES.map(c => [label(c), c] as [string, LimitCase]))("%s: the count the table gives is the format's", (_l, c) => {
        const limit = formatLimit(c)
        expect(c.readings).toBe(limit.readings)
        // Each case is coded as it says: fixed width `width`, or Rice for the rice cases.
        for (const code of limit.codings) if (code !== undefined) expect(c.rice ? code >= SPEC_RICE : code === c.width).toBe(true)
    })

    test.each(LIMIT_CASES.map(c => [label(c), c] as [string, LimitCase]))(
        "%s: the shared Ledger seals at that count, and under the cap at the device's",
        (_l, c) => {
            expect(sealedCount(c)).toBe(c.readings)
            expect(sealedCount(c, DEFAULT_MAX_VALUES_PER_BLOCK)).toBe(limitExpected(c, DEFAULT_MAX_VALUES_PER_BLOCK))
        }
    )

    test("both kinds are there: blocks sealed on their size below the cap, and blocks sealed on the cap, with each coding", () => {
        const onSize = LIMIT_CASES.filter(c => c.readings < Math.floor(DEFAULT_MAX_VALUES_PER_BLOCK / c.channels))
        const onCap = LIMIT_CASES.filter(c => c.readings > Math.floor(DEFAULT_MAX_VALUES_PER_BLOCK / c.channels))
        for (const n of [1, 3, 8]) {
            expect(onSize.some(c => c.channels === n && !c.rice)).toBe(true)
            expect(onSize.some(c => c.channels === n && c.rice)).toBe(true)
            expect(onCap.some(c => c.channels === n)).toBe(true)
        }
        expect(onSize.some(c => c.missing)).toBe(true)
    })
})
