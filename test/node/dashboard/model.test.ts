/** The dashboard's pure model (tools/dashboard/public/model.js): a device's state from the fleet JSON. */
import { describe, expect, test } from "vitest"
// @ts-expect-error: model.js is a plain ES module for the browser, without type declarations.
import { cadenceText, deviceState, gapText, isUpperBound, lostText, staleThresholdMs } from "../../../tools/dashboard/public/model.js"
// @ts-expect-error: as above.
import { buildSeries, encryptedSeqs, fillDecrypted, signingText } from "../../../tools/dashboard/public/model.js"

const NOW = Date.UTC(2026, 2, 1, 12, 0, 0)
const MINUTE = 60000
const HOUR = 60 * MINUTE
const STALE_AFTER = 15 * MINUTE

/** A device as GET /v1/devices shows it, last seen `ago` ms before NOW. */
function device(ago: number | null, blockPeriodMs: number | null, securityEvents = 0) {
    return {
        deviceId: "12abdd2289421234",
        lastSeen: ago === null ? null : new Date(NOW - ago).toISOString(),
        blockPeriodMs,
        securityEvents,
    }
}

describe("deviceState", () => {
    test("a device sealing hourly, seen 40 minutes ago, is healthy (it syncs when it seals)", () => {
        const st = deviceState(device(40 * MINUTE, HOUR), NOW, STALE_AFTER)
        expect(st.state).toBe("healthy")
        expect(st.why).toBe("synced 40 min ago; expected a sync every ~60 min")
    })

    test("a device sealing hourly, seen 3 hours ago, is stale", () => {
        const st = deviceState(device(3 * HOUR, HOUR), NOW, STALE_AFTER)
        expect(st.state).toBe("stale")
        expect(st.why).toBe("no sync for 3 h; expected a sync every ~60 min")
    })

    test.each([
        ["just inside", 15 * MINUTE + 2 * HOUR, "healthy"],
        ["just past", 15 * MINUTE + 2 * HOUR + 1, "stale"],
    ])("the threshold is staleAfterMs + 2 block periods: %s", (_, ago, state) => {
        expect(deviceState(device(ago as number, HOUR), NOW, STALE_AFTER).state).toBe(state)
    })

    test("without a known period the threshold is staleAfterMs alone", () => {
        expect(deviceState(device(14 * MINUTE, null), NOW, STALE_AFTER).state).toBe("healthy")
        expect(deviceState(device(40 * MINUTE, null), NOW, STALE_AFTER).state).toBe("stale")
        expect(deviceState(device(40 * MINUTE, null), NOW, STALE_AFTER).why).toBe("no sync for 40 min")
    })

    test("a device in the simulator (a block every 30 s) is stale soon after 15 minutes", () => {
        expect(deviceState(device(15 * MINUTE, 30000), NOW, STALE_AFTER).state).toBe("healthy")
        expect(deviceState(device(17 * MINUTE, 30000), NOW, STALE_AFTER).state).toBe("stale")
    })

    test("never seen is stale; a security event is an alarm whatever the cadence", () => {
        expect(deviceState(device(null, null), NOW, STALE_AFTER)).toMatchObject({ state: "stale", label: "never seen" })
        expect(deviceState(device(40 * MINUTE, HOUR, 2), NOW, STALE_AFTER).state).toBe("alarm")
    })
})

describe("staleThresholdMs and cadenceText", () => {
    test.each([
        [HOUR, STALE_AFTER + 2 * HOUR, "expected a sync every ~60 min"],
        [30000, STALE_AFTER + 60000, "expected a sync every ~30 s"],
        [null, STALE_AFTER, ""],
        [undefined, STALE_AFTER, ""],
        [0, STALE_AFTER, ""],
    ])("block period %s", (blockPeriodMs, threshold, text) => {
        expect(staleThresholdMs({ blockPeriodMs }, STALE_AFTER)).toBe(threshold)
        expect(cadenceText({ blockPeriodMs })).toBe(text)
    })
})

describe("gap wording", () => {
    test("a power-loss count is an upper bound: 'up to N'; the others are exact", () => {
        expect(gapText({ reason: "power-loss", lostReadings: 10, lostBlocks: 0 })).toBe("power-loss, up to 10 readings lost")
        expect(gapText({ reason: "backlog-full", lostReadings: 4, lostBlocks: 2, firstLostSeq: 2 }, false)).toBe(
            "4 readings lost, 2 blocks dropped (seq 2…3)"
        )
        expect(gapText({ reason: "sampling-stopped", lostReadings: 1, lostBlocks: 0 })).toBe("sampling-stopped, 1 reading lost")
        // A sum over records with a power-loss one among them is an upper bound too.
        expect(lostText(13, isUpperBound([{ reason: "backlog-full" }, { reason: "power-loss" }]))).toBe("up to 13 readings lost")
        expect(lostText(3, isUpperBound([{ reason: "backlog-full" }, undefined]))).toBe("3 readings lost")
    })
})

describe("signingText", () => {
    const signing = (signedTo: number | null, broken: string | null = null) => ({ fingerprint: "a18112b0b7b4225f", signedTo, broken })
    test("says how far the chain is signed, with the key's fingerprint", () => {
        expect(signingText({ signing: signing(41) })).toBe("signed up to seq 41 (key a18112b0b7b4225f)")
        expect(signingText({ signing: signing(null) })).toBe("nothing signed yet (key a18112b0b7b4225f)")
        expect(signingText({ signing: signing(41, "dropped") })).toBe(
            "signed up to seq 41 (key a18112b0b7b4225f); later checkpoints unverifiable"
        )
        expect(signingText({ signing: null })).toBe("no signing key registered")
    })
})

describe("buildSeries with end-to-end encrypted readings", () => {
    test("rows without values (the gateway has no data key) keep their times and plot as no value, with no fault marks", () => {
        const rows = [0, 1, 2].map(i => ({ seq: 1, boot: 1, uptimeMs: 1000 * i, values: [] as (number | null)[], encrypted: true }))
        const series = buildSeries(rows, [], 2)
        expect(series.data[0]).toHaveLength(3)
        expect(series.data[1]).toEqual([null, null, null])
        expect(series.data[2]).toEqual([null, null, null])
        expect(series.faults).toEqual([])
    })
})

describe("fillDecrypted: values decrypted in the browser into the gateway's rows", () => {
    const row = (seq: number, i: number, encrypted = true) => ({
        seq,
        boot: 1,
        uptimeMs: 1000 * (seq * 10 + i),
        values: encrypted ? ([] as (number | null)[]) : [seq, i],
        ...(encrypted ? { encrypted: true } : {}),
    })

    test("each block's readings in order; plaintext rows and blocks not decrypted left as they are", () => {
        const rows = [row(1, 0, false), row(2, 0), row(2, 1), row(3, 0), row(4, 0)]
        expect(encryptedSeqs(rows)).toEqual([2, 3, 4])
        const decrypted = new Map([
            [
                2,
                [
                    [20.5, null],
                    [20.6, 41],
                ],
            ],
            [4, [[21, 40]]],
        ])
        expect(fillDecrypted(rows, decrypted)).toBe(3)
        expect(rows.map(r => r.values)).toEqual([[1, 0], [20.5, null], [20.6, 41], [], [21, 40]])
        expect(rows.map(r => !!(r as { decrypted?: boolean }).decrypted)).toEqual([false, true, true, false, true])
        // Plotted: the decrypted values, a missing one as a fault mark, the block not decrypted as no value.
        const series = buildSeries(rows, [], 2)
        expect(series.data[1]).toEqual([1, 20.5, 20.6, null, 21])
        expect(series.faults).toEqual([{ x: 1, channel: 1, label: "boot 1 +20 s" }])
    })
})
