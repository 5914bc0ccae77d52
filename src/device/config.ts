/** Firmware configuration: defaults, overridden by settings (written by provisioning or `.env.defaults`). */
import * as ds from "@devicescript/core"
import { readJsonSetting } from "./settingsstore"
import { DEFAULT_BACKLOG_BLOCKS, DEFAULT_CHECKPOINT_EVERY, DEFAULT_MAX_VALUES_PER_BLOCK } from "../lib/store/defaults"
import { LedgerOptions } from "../lib/ledger/ledger"
import { USB_GATEWAY } from "../lib/sync/usbwire"
import {
    BACKLOG_SETTING,
    BLOCK_AGE_SETTING,
    CHECKPOINT_EVERY_SETTING,
    GATEWAY_SETTING,
    INTERVAL_SETTING,
    MAX_BACKOFF_SETTING,
    SYNC_PERIOD_SETTING,
    WHEN_FULL_SETTING,
} from "../lib/flash/keys"
import { configLine } from "../lib/log/lines"

export const FIRMWARE_VERSION = "fieldledger/0.1.0"

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
}

/** Where `fieldledger gateway` listens by default: the simulator syncs there unless told otherwise. */
export const SIMULATOR_GATEWAY_URL = "http://127.0.0.1:8787"

async function readUrl(key: string, fallback: string): Promise<string> {
    const value = await readJsonSetting<string>(key, fallback)
    if (value === USB_GATEWAY) return value
    if (typeof value !== "string" || (value !== "" && !value.startsWith("http://") && !value.startsWith("https://"))) {
        console.log(configLine(key + " is neither an http(s) URL nor \"usb\", using " + (fallback || "none (no sync)")))
        return fallback
    }
    return value
}

async function readNumber(key: string, fallback: number, min: number, max: number): Promise<number> {
    const value = await readJsonSetting<number>(key, fallback)
    if (typeof value !== "number" || !(value >= min && value <= max)) {
        console.log(configLine(key + "=" + value + " is invalid (" + min + ".." + max + "), using " + fallback))
        return fallback
    }
    return value
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
            intervalMs: await readNumber(INTERVAL_SETTING, sim ? 1000 : 60000, 100, 86400000),
            maxBlockAgeMs: await readNumber(BLOCK_AGE_SETTING, sim ? 30000 : 3600000, 1000, 86400000),
            // Not a setting: above it a block cannot be sealed within one fiber run's op budget.
            maxValuesPerBlock: DEFAULT_MAX_VALUES_PER_BLOCK,
        },
        checkpointEvery: await readNumber(CHECKPOINT_EVERY_SETTING, DEFAULT_CHECKPOINT_EVERY, 1, 255),
        // The default fits the 8 KB store of the simulator and RP2040 (src/lib/store/defaults.ts);
        // ESP32's 16 KB store can take up to about 62.
        maxBacklogBlocks: await readNumber(BACKLOG_SETTING, DEFAULT_BACKLOG_BLOCKS, 2, 66),
        whenFull: (await readJsonSetting<string>(WHEN_FULL_SETTING, "drop-oldest")) === "stop-sampling" ? "stop-sampling" : "drop-oldest",
        gatewayUrl: await readUrl(GATEWAY_SETTING, sim ? SIMULATOR_GATEWAY_URL : ""),
        syncPeriodMs: await readNumber(SYNC_PERIOD_SETTING, sim ? 2000 : 60000, 500, 86400000),
        maxBackoffMs: await readNumber(MAX_BACKOFF_SETTING, sim ? 30000 : 3600000, 1000, 86400000),
    }
}
