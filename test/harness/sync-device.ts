/**
 * The device program of the end-to-end sync suite (test/node/e2e/sync.test.ts): the real wiring
 * (src/device/device.ts) with fast timing, one channel that counts readings, and the gateway at
 * SYNC_HARNESS_URL (the suite's fault-injecting proxy). It samples for SAMPLE_MS, seals its
 * open block, then keeps syncing until the gateway holds everything (or DRAIN_MS passes) and
 * says how it ended: `fl:harness done backlog=N`.
 * Run: devs run test/harness/sync-device.ts --test (fresh flash, device id 12abdd2289421234).
 */
import * as ds from "@devicescript/core"
import { readingsTaken, runSyncHarness } from "./syncharness"

const SAMPLE_MS = 26000
const DRAIN_MS = 30000

// No signed checkpoints in this harness's runs (its suites are about sync).
const device = await runSyncHarness({ maxBackoffMs: 2000, signEvery: 1000000, signHours: 8760 })
await ds.sleep(SAMPLE_MS)
await device.stopSampling()
console.log("fl:harness sampling stopped after " + readingsTaken() + " readings")
const deadline = ds.millis() + DRAIN_MS
while (device.store.backlogBlocks() > 0 && ds.millis() < deadline) await ds.sleep(200)
console.log("fl:harness done backlog=" + device.store.backlogBlocks())
