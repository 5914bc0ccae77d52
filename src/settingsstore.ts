/**
 * The chain store's key-value interface over the DeviceScript Settings service (the device's
 * flash). A `get` is a request with the answer coming back as a report, so it goes through
 * `actionReport`, filtered on the key, as @devicescript/settings' readSetting does.
 */
import * as ds from "@devicescript/core"
import { settings } from "@devicescript/settings"
import { KeyValueStore } from "./lib/chainstore"

export const settingsStore: KeyValueStore = {
    get: async (key: string) => {
        const pkt = await ds.actionReport(settings, "get", async () => await settings.get(key), p => p.decode()[0] === key)
        const value: Buffer = pkt.decode()[1]
        return value && value.length > 0 ? value : undefined
    },
    set: async (key: string, value: Buffer) => {
        await settings.set(key, value)
    },
    delete: async (key: string) => {
        await settings.delete(key)
    },
}
