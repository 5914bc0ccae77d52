/**
 * The FL_* settings on the device: the shared table (src/lib/config/settings.ts) decides every
 * case of test/fixtures/settingcases.ts on DeviceScript as the Node tests expect, and the
 * firmware's loadConfig takes a value at its limits and falls back to the default beyond them.
 */
import { deleteSetting, writeSetting } from "@devicescript/settings"
import { describe, expect, test } from "@devicescript/test"
import { FirmwareConfig, loadConfig } from "../../src/device/config"
import { isDeviceIdHex } from "../../src/lib/codec/hexids"
import {
    FL_BACKLOG,
    FL_BACKOFF_MS,
    FL_BLOCK_AGE,
    FL_CKPT_EVERY,
    FL_GATEWAY,
    FL_INTERVAL,
    FL_SYNC_MS,
    FL_WHEN_FULL,
    Setting,
    settingProblem,
    SETTINGS,
} from "../../src/lib/config/settings"
import { isGatewayUrl } from "../../src/lib/sync/gatewayurl"
import { DEVICE_ID_CASES, GATEWAY_URL_CASES, settingCases } from "../fixtures/settingcases"

/** What loadConfig made of each numeric setting. */
function numbersOf(c: FirmwareConfig): any[] {
    return [
        [FL_INTERVAL, c.ledger.intervalMs],
        [FL_BLOCK_AGE, c.ledger.maxBlockAgeMs],
        [FL_CKPT_EVERY, c.checkpointEvery],
        [FL_BACKLOG, c.maxBacklogBlocks],
        [FL_SYNC_MS, c.syncPeriodMs],
        [FL_BACKOFF_MS, c.maxBackoffMs],
    ]
}

/** Writes `pick(setting)` to every numeric setting, loads the configuration, and lists each setting whose value is not `expect(setting)`. */
async function loadNumbers(pick: (s: Setting) => number, want: (s: Setting) => number): Promise<string> {
    for (const s of SETTINGS) if (s.type === "number") await writeSetting(s.key, pick(s))
    const config = await loadConfig()
    let wrong = ""
    for (const pair of numbersOf(config)) {
        const s: Setting = pair[0]
        if (pair[1] !== want(s)) wrong += " " + s.key + "=" + pair[1] + " (wanted " + want(s) + ")"
    }
    return wrong
}

async function clearSettings() {
    for (const s of SETTINGS) await deleteSetting(s.key)
}

describe("the FL_* settings table on the device", () => {
    test("decides every shared case as the Node tests expect", () => {
        let wrong = ""
        for (const c of settingCases())
            if ((settingProblem(c.setting, c.value) === undefined) !== c.accepted) wrong += " " + c.setting.key + "=" + c.value
        expect(wrong).toBe("")
    })

    test("the gateway URL and device id rules decide every shared case as on Node", () => {
        let wrong = ""
        for (const c of GATEWAY_URL_CASES) if (isGatewayUrl(c[0]) !== c[1]) wrong += " url " + c[0]
        for (const c of DEVICE_ID_CASES) if (isDeviceIdHex(c[0]) !== c[1]) wrong += " id " + c[0]
        expect(wrong).toBe("")
    })

    test("loadConfig takes every number at its limits", async () => {
        expect(
            await loadNumbers(
                s => s.min,
                s => s.min
            )
        ).toBe("")
        expect(
            await loadNumbers(
                s => s.max,
                s => s.max
            )
        ).toBe("")
        await clearSettings()
    })

    test("loadConfig falls back to the simulator's defaults beyond the limits, for fractions, and for bad strings", async () => {
        expect(
            await loadNumbers(
                s => s.min - 1,
                s => s.simulator as number
            )
        ).toBe("")
        expect(
            await loadNumbers(
                s => s.max + 1,
                s => s.simulator as number
            )
        ).toBe("")
        expect(
            await loadNumbers(
                s => s.min + 0.5,
                s => s.simulator as number
            )
        ).toBe("")
        await writeSetting(FL_GATEWAY.key, "http://")
        await writeSetting(FL_WHEN_FULL.key, "STOP-SAMPLING")
        let config = await loadConfig()
        expect(config.gatewayUrl).toBe(FL_GATEWAY.simulator as string)
        expect(config.whenFull).toBe("drop-oldest")
        await writeSetting(FL_GATEWAY.key, "usb")
        await writeSetting(FL_WHEN_FULL.key, "stop-sampling")
        config = await loadConfig()
        expect(config.gatewayUrl).toBe("usb")
        expect(config.whenFull).toBe("stop-sampling")
        await clearSettings()
        config = await loadConfig()
        expect(config.gatewayUrl).toBe(FL_GATEWAY.simulator as string)
        expect(config.ledger.intervalMs).toBe(FL_INTERVAL.simulator as number)
    })
})
