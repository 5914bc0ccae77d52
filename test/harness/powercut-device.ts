/**
 * The device program of the power-cut harness (tools/powercut.ts): the real wiring
 * (src/device/device.ts) with fast timing and one channel that counts readings within each boot, so
 * the host can tell exactly which readings a kill lost.
 */
import { runDevice } from "../../src/device/device"
import { ChannelSource } from "../../src/sensing/sensors"
import { tickLine } from "../../src/lib/log/lines"

let count = 0
const counter: ChannelSource = {
    spec: { name: "count", unit: "1", exponent: 0 },
    read: async () => count++,
}

await runDevice({
    // No gateway: the backlog stays in flash, as on a device out of range.
    config: {
        board: "simulator",
        ledger: { intervalMs: 100, maxBlockAgeMs: 2000 },
        checkpointEvery: 10,
        maxBacklogBlocks: 40,
        whenFull: "drop-oldest",
        gatewayUrl: "",
        syncPeriodMs: 1000,
        maxBackoffMs: 1000,
        // A signed checkpoint every 2 blocks (a block at least every 2 s): kills land in signing,
        // between the checkpoint's commit and the signing state's advance, and everywhere else.
        signEvery: 2,
        signHours: 1,
    },
    sources: [counter],
    afterReading: async (boot, openReadings) => {
        console.log(tickLine(boot, count))
    },
})
