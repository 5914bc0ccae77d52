/**
 * The FL_* settings: a device's configuration, read by the firmware at boot
 * (src/device/config.ts, src/sensing/sensorconfig.ts) and written by the tools
 * (tools/lib/provisioning.ts). One table, so that a tool refuses exactly the values the
 * firmware would ignore. Pure and shared.
 *
 * A value is stored as JSON (what @devicescript/settings' writeSetting and provisioning
 * write). When a setting is absent, not JSON, or refused by settingProblem, the firmware uses
 * its default; the simulator has defaults of its own so that a developer sees blocks without
 * waiting. Numbers are whole numbers within the setting's limits.
 *
 * The firmware builds this table at every boot (about 20 us an object): keep it flat and small.
 */
import {
    BACKLOG_SETTING,
    BLOCK_AGE_SETTING,
    CHECKPOINT_EVERY_SETTING,
    GATEWAY_SETTING,
    INTERVAL_SETTING,
    MAX_BACKOFF_SETTING,
    SENSOR_SETTING,
    SIGN_EVERY_SETTING,
    SIGN_HOURS_SETTING,
    SYNC_PERIOD_SETTING,
    WHEN_FULL_SETTING,
} from "../flash/keys"
import { sensorKind, SENSOR_KINDS } from "../sensors/sensorkinds"
import { DEFAULT_BACKLOG_BLOCKS, DEFAULT_CHECKPOINT_EVERY } from "../store/defaults"
import { isGatewayUrl } from "../sync/gatewayurl"
import { USB_GATEWAY } from "../sync/usbwire"

/** Where `fieldledger gateway` listens by default: the simulator syncs there unless told otherwise. */
export const SIMULATOR_GATEWAY_URL = "http://127.0.0.1:8787"

/**
 * One setting. The one-line doc of each is the comment on its entry below, not a field: the
 * firmware carries every string of the table in its bytecode.
 */
export interface Setting {
    /** The setting's key on the device. */
    key: string
    /** The JSON type of its value. */
    type: "number" | "string"
    /** The value the firmware uses when the setting is absent or refused: on hardware, and in the simulator. */
    hardware: number | string
    simulator: number | string
    /** Numbers: the lowest and highest value accepted (whole numbers only). */
    min?: number
    max?: number
    /** Strings: why a value is refused (undefined: accepted). */
    check?: (value: string) => string | undefined
}

function whenFullProblem(value: string): string | undefined {
    return value === "drop-oldest" || value === "stop-sampling" ? undefined : 'is neither "drop-oldest" nor "stop-sampling"'
}

function gatewayProblem(value: string): string | undefined {
    return value === "" || value === USB_GATEWAY || isGatewayUrl(value) ? undefined : 'is neither an http(s) URL nor "usb" nor empty'
}

function sensorProblem(value: string): string | undefined {
    return value === "" || sensorKind(value) ? undefined : "is not a known sensor (" + SENSOR_KINDS.map(k => k.id).join(", ") + ")"
}

const DAY_MS = 86400000

/** ms between readings. */
export const FL_INTERVAL: Setting = { key: INTERVAL_SETTING, type: "number", hardware: 60000, simulator: 1000, min: 100, max: DAY_MS }
/** Longest time (ms) a block stays open before it is sealed. */
export const FL_BLOCK_AGE: Setting = { key: BLOCK_AGE_SETTING, type: "number", hardware: 3600000, simulator: 30000, min: 1000, max: DAY_MS }
/** Readings between flash checkpoints of the open block: the most a power cut loses. */
export const FL_CKPT_EVERY: Setting = {
    key: CHECKPOINT_EVERY_SETTING,
    type: "number",
    hardware: DEFAULT_CHECKPOINT_EVERY,
    simulator: DEFAULT_CHECKPOINT_EVERY,
    min: 1,
    max: 255,
}
/**
 * Unacknowledged blocks kept in flash before the oldest are dropped (or sampling stops). The
 * default fits the 8 KB store of the simulator and RP2040 (src/lib/store/defaults.ts); ESP32's
 * 16 KB store takes up to about 62.
 */
export const FL_BACKLOG: Setting = {
    key: BACKLOG_SETTING,
    type: "number",
    hardware: DEFAULT_BACKLOG_BLOCKS,
    simulator: DEFAULT_BACKLOG_BLOCKS,
    min: 2,
    max: 66,
}
/** What a full backlog does: "drop-oldest" blocks (declared by a gap record) or "stop-sampling". */
export const FL_WHEN_FULL: Setting = {
    key: WHEN_FULL_SETTING,
    type: "string",
    hardware: "drop-oldest",
    simulator: "drop-oldest",
    check: whenFullProblem,
}
/** Gateway URL (http(s)://host:port, src/lib/sync/gatewayurl.ts), "usb" (fieldledger bridge on the host), or empty: no sync. */
export const FL_GATEWAY: Setting = {
    key: GATEWAY_SETTING,
    type: "string",
    hardware: "",
    simulator: SIMULATOR_GATEWAY_URL,
    check: gatewayProblem,
}
/** ms between sync rounds while the gateway answers. */
export const FL_SYNC_MS: Setting = { key: SYNC_PERIOD_SETTING, type: "number", hardware: 60000, simulator: 2000, min: 500, max: DAY_MS }
/** Longest wait (ms) between sync tries while the gateway does not answer (exponential backoff). */
export const FL_BACKOFF_MS: Setting = {
    key: MAX_BACKOFF_SETTING,
    type: "number",
    hardware: 3600000,
    simulator: 30000,
    min: 1000,
    max: DAY_MS,
}
/**
 * Blocks between signed checkpoints (docs/SIGNING.md, "Cadence"). A checkpoint record is 130 -
 * 140 bytes; on the Seattle hourly normals (118 readings, about 200 bytes, a block) one every 8
 * blocks keeps the chain within 10 % of its unsigned size (bench bytesPerReadingSigned). The
 * simulator signs every 4 blocks (about 2 minutes) so that its runs show them.
 */
export const FL_SIGN_EVERY: Setting = { key: SIGN_EVERY_SETTING, type: "number", hardware: 8, simulator: 4, min: 1, max: 100000 }
/**
 * Longest device uptime (hours) between signed checkpoints, for a device that seals few blocks:
 * at most this long a tail stays unsigned (it is still tagged). 840 h (5 weeks) keeps an hourly
 * sampler within the 10 % too (138 B / 840 readings).
 */
export const FL_SIGN_HOURS: Setting = { key: SIGN_HOURS_SETTING, type: "number", hardware: 840, simulator: 1, min: 1, max: 8760 }
/** The sensor part (an id of src/lib/sensors/sensorkinds.ts), or empty: the board's default. */
export const FL_SENSOR: Setting = { key: SENSOR_SETTING, type: "string", hardware: "", simulator: "", check: sensorProblem }

/** Every FL_* setting the firmware reads. */
export const SETTINGS: Setting[] = [
    FL_INTERVAL,
    FL_BLOCK_AGE,
    FL_CKPT_EVERY,
    FL_BACKLOG,
    FL_WHEN_FULL,
    FL_GATEWAY,
    FL_SYNC_MS,
    FL_BACKOFF_MS,
    FL_SIGN_EVERY,
    FL_SIGN_HOURS,
    FL_SENSOR,
]

/** Why the firmware would not use `value` for setting `s`, as "is not ..."; undefined when it would. */
export function settingProblem(s: Setting, value: unknown): string | undefined {
    if (s.type === "number") {
        const n = value as number
        if (typeof value !== "number" || !(n >= s.min && n <= s.max) || Math.floor(n) !== n)
            return "is not a whole number in " + s.min + ".." + s.max
        return undefined
    }
    if (typeof value !== "string") return "is not a string"
    return s.check ? s.check(value) : undefined
}

/** The value the firmware uses when the setting is absent or refused. */
export function settingDefault(s: Setting, simulator: boolean): number | string {
    return simulator ? s.simulator : s.hardware
}

/** The setting with this key, or undefined. */
export function settingByKey(key: string): Setting | undefined {
    for (const s of SETTINGS) if (s.key === key) return s
    return undefined
}
