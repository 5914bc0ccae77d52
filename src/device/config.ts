/**
 * Firmware configuration: the FL_* settings (written by provisioning or `.env.defaults`), read
 * by the table in src/lib/config/settings.ts that the tools validate with; a setting that is
 * absent or that the table refuses gives its default.
 */
import * as ds from "@devicescript/core"
import { readJsonSetting } from "./settingsstore"
import { DEFAULT_MAX_VALUES_PER_BLOCK } from "../lib/store/defaults"
import { LedgerOptions } from "../lib/ledger/ledger"
import {
    FL_BACKLOG,
    FL_BACKOFF_MS,
    FL_BLOCK_AGE,
    FL_CKPT_EVERY,
    FL_GATEWAY,
    FL_INTERVAL,
    FL_SIGN_EVERY,
    FL_SIGN_HOURS,
    FL_SYNC_MS,
    FL_WHEN_FULL,
    Setting,
    settingDefault,
    settingProblem,
} from "../lib/config/settings"
import { configLine } from "../lib/log/lines"

export interface FirmwareConfig {
    board: string
    ledger: LedgerOptions
    /** Readings between flash checkpoints of the open block: the most a power cut loses. */
    checkpointEvery: number
    /** Unacknowledged blocks kept in flash before the oldest are dropped (and declared). */
    maxBacklogBlocks: number
    /** What a full backlog does: drop the oldest blocks (default) or stop sampling. */
    whenFull: "drop-oldest" | "stop-sampling"
    /** Gateway base URL (http://host:port), "usb" (`fieldledger bridge` on the host), or empty: no sync, the backlog stays in flash. */
    gatewayUrl: string
    /** Time between sync rounds while the gateway answers; failures back off up to maxBackoffMs. */
    syncPeriodMs: number
    maxBackoffMs: number
    /** Signed checkpoints: every this many blocks, and at least every signHours of uptime. */
    signEvery: number
    signHours: number
}

/** A setting's value, or its default when it is absent or the table refuses it (said on the console). */
export async function readSetting(s: Setting, simulator: boolean): Promise<any> {
    const fallback = settingDefault(s, simulator)
    const value = await readJsonSetting<any>(s.key, undefined)
    if (value === undefined) return fallback
    const problem = settingProblem(s, value)
    if (problem === undefined) return value
    console.log(configLine(s.key + "=" + value + " " + problem + ", using " + (fallback === "" ? "none" : fallback)))
    return fallback
}

/**
 * One reading a minute and a block at least every hour on hardware; the simulator samples
 * every second and seals every 30 s so a developer sees blocks without waiting.
 */
export async function loadConfig(): Promise<FirmwareConfig> {
    const sim = ds.isSimulator()
    return {
        board: sim ? "simulator" : "unknown",
        ledger: {
            intervalMs: await readSetting(FL_INTERVAL, sim),
            maxBlockAgeMs: await readSetting(FL_BLOCK_AGE, sim),
            // Not a setting: above it a block cannot be sealed within one fiber run's op budget.
            maxValuesPerBlock: DEFAULT_MAX_VALUES_PER_BLOCK,
        },
        checkpointEvery: await readSetting(FL_CKPT_EVERY, sim),
        maxBacklogBlocks: await readSetting(FL_BACKLOG, sim),
        whenFull: await readSetting(FL_WHEN_FULL, sim),
        gatewayUrl: await readSetting(FL_GATEWAY, sim),
        syncPeriodMs: await readSetting(FL_SYNC_MS, sim),
        maxBackoffMs: await readSetting(FL_BACKOFF_MS, sim),
        signEvery: await readSetting(FL_SIGN_EVERY, sim),
        signHours: await readSetting(FL_SIGN_HOURS, sim),
    }
}
