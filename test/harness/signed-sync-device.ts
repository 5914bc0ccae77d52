/**
 * The device program of the signed end-to-end test (test/node/e2e/signed.test.ts): the real
 * wiring (src/device/device.ts) syncing to the gateway at 127.0.0.1:18787 with a signed
 * checkpoint every 2 blocks (a block at least every second), for about 12 s of sampling; then it
 * stops sampling, asks for a last signed checkpoint (fl_signnow, as `provision --force` does),
 * and waits until the backlog has drained.
 */
import * as ds from "@devicescript/core"
import { settingsStore } from "../../src/device/settingsstore"
import { SIGN_NOW_SETTING } from "../../src/lib/flash/keys"
import { runSyncHarness } from "./syncharness"

const SAMPLE_MS = 12000
const DRAIN_MS = 40000

const device = await runSyncHarness({ maxBackoffMs: 1000, signEvery: 2, signHours: 1 })
await ds.sleep(SAMPLE_MS)
await device.stopSampling()
await settingsStore.set(SIGN_NOW_SETTING, Buffer.from([1]))
const deadline = ds.millis() + DRAIN_MS
// The request is deleted once its checkpoint is stored; then the backlog drains.
while ((device.store.backlogBlocks() > 0 || (await settingsStore.get(SIGN_NOW_SETTING))) && ds.millis() < deadline) await ds.sleep(200)
console.log("fl:harness done backlog=" + device.store.backlogBlocks())
