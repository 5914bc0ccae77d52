/**
 * The device program of the encrypted end-to-end test (test/node/e2e/encrypted.test.ts): flash
 * is provisioned as `fieldledger provision --encrypt` leaves it (fl_d0 = D_0, then fl_k0 = K_0,
 * fixed test keys the Node side also holds), then the real wiring (test/harness/syncharness.ts) samples
 * two deterministic channels (a constant 123456.78 and a counter 0, 1, 2, ...) every 100 ms for
 * about 6 s, syncing to the gateway at 127.0.0.1:18797, and waits until its backlog has drained.
 */
import * as ds from "@devicescript/core"
import { settingsStore } from "../../src/device/settingsstore"
import { PROVISIONED_DATA_KEY_SETTING, PROVISIONED_KEY_SETTING } from "../../src/lib/flash/keys"
import { ChannelSource } from "../../src/sensing/sensors"
import { countingChannel, runSyncHarness } from "./syncharness"

const GATEWAY_URL = "http://127.0.0.1:18797"
const SAMPLE_MS = 6000
const DRAIN_MS = 40000

// The order provisioning writes them in: D_0 first, so the firmware finds it with K_0.
await settingsStore.set(PROVISIONED_DATA_KEY_SETTING, hex`5c0f3e2a9b71d4e8a6c2f0b19d3e7a4c5b8e1f2d0a9c7b6e3f4a1d2c8b7e6f50`)
await settingsStore.set(PROVISIONED_KEY_SETTING, hex`3a7d2c9e1b4f6a8d0c2e5b7f9a1d3c6e8b0f2a4d6c8e1b3f5a7d9c2e4b6f8a01`)

const constant: ChannelSource = {
    spec: { name: "level", unit: "m", exponent: -2 },
    read: async () => 123456.78,
}

const device = await runSyncHarness(
    { maxBackoffMs: 1000, signEvery: 1000, signHours: 1 },
    { gatewayUrl: GATEWAY_URL, sources: [constant, countingChannel] }
)
await ds.sleep(SAMPLE_MS)
await device.stopSampling()
const deadline = ds.millis() + DRAIN_MS
while (device.store.backlogBlocks() > 0 && ds.millis() < deadline) await ds.sleep(200)
console.log("fl:harness done backlog=" + device.store.backlogBlocks())
