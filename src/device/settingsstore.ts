/**
 * The chain store's key-value interface over the DeviceScript Settings service (the device's
 * flash), and the JSON settings reader of the configuration.
 *
 * A `get` is a command whose answer comes back as a report of the Settings service, matched on
 * the key. The runtime's `ds.actionReport` (which @devicescript/settings' `readSetting` uses)
 * resumes the asking fiber from the report handler, and throws "fiber not suspended" when a
 * report for that key arrives before the fiber has suspended: a host reading the same setting
 * over USB (the bridge, provisioning) or a second fiber reading it. That throw is in an event
 * handler, so it is unhandled and restarts the program (PANIC 60005; it failed the USB bridge
 * test in CI). Here the handler only keeps the packet, and the asking fiber polls for it.
 */
import * as ds from "@devicescript/core"
import { settings } from "@devicescript/settings"
import { KeyValueStore, StorageError } from "../lib/flash/verified"

/** A get is asked again after this long without a report (a lost packet), and fails after ASK_TRIES. */
const ASK_AGAIN_MS = 1000
const ASK_TRIES = 10
/** The Settings service's get command: its report answers with the same code. */
const GET_CODE = settings.spec.lookup("get").code

/** The raw value of a setting, or undefined when it is absent (or empty). */
export async function readSettingBytes(key: string): Promise<Buffer | undefined> {
    let reply: ds.Packet | undefined = undefined
    const unsubscribe = settings.report().subscribe(pkt => {
        if (!reply && pkt.serviceCommand === GET_CODE && pkt.decode()[0] === key) reply = pkt
    })
    try {
        for (let tries = 0; tries < ASK_TRIES && !reply; tries++) {
            await settings.get(key)
            const deadline = ds.millis() + ASK_AGAIN_MS
            while (!reply && ds.millis() < deadline) await ds.sleep(1)
        }
    } finally {
        unsubscribe()
    }
    if (!reply) throw new StorageError("io", "setting " + key + ": no answer from the settings service")
    const value: Buffer = reply.decode()[1]
    return value && value.length > 0 ? value : undefined
}

/** A setting written as JSON (`.env.defaults`, provisioning), or `missing` when absent or not JSON. */
export async function readJsonSetting<T>(key: string, missing: T): Promise<T> {
    const bytes = await readSettingBytes(key)
    if (!bytes) return missing
    try {
        return JSON.parse(bytes.toString()) as T
    } catch (e) {
        return missing
    }
}

export const settingsStore: KeyValueStore = {
    get: async (key: string) => await readSettingBytes(key),
    set: async (key: string, value: Buffer) => {
        await settings.set(key, value)
    },
    delete: async (key: string) => {
        await settings.delete(key)
    },
}
