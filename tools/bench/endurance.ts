/**
 * Offline endurance: how many readings of the Seattle data the settings flash holds unsynced,
 * at the default configuration, before the first gap record; and the flash writes and garbage
 * collections that costs. The firmware's own pipeline (openChain, backlog, ledger) runs on a
 * model of the settings store (fstormodel.ts), 8 KB as in the simulator and on RP2040, and
 * 16 KB as on ESP32.
 */
import { timerPause } from "../lib/pause"
import { startBacklog } from "../../src/lib/store/backlog"
import { ChainStore } from "../../src/lib/store/chainstore"
import { DEFAULT_BACKLOG_BLOCKS, DEFAULT_CHECKPOINT_EVERY, slotsForBacklog } from "../../src/lib/store/defaults"
import { RECORD_GAP } from "../../src/lib/codec/format"
import { openChain } from "../../src/lib/store/recovery"
import { nodeCrypto } from "../lib/crypto"
import { FstorModel } from "./fstormodel"
import type { BenchSection } from "./section"
import { loadSeattle, SEATTLE_CHANNELS } from "./seattle"

const DEVICE_ID = Buffer.from("12abdd2289421234", "hex")
const INTERVAL_MS = 60000

interface EnduranceRun {
    readings: number
    writes: number
    collections: number
    blocks: number
}

async function fillUntilFirstGap(halfBytes: number, maxBacklogBlocks: number): Promise<EnduranceRun> {
    const rows = loadSeattle()
    const flash = new FstorModel(halfBytes)
    const store = new ChainStore(flash, nodeCrypto, DEVICE_ID, slotsForBacklog(maxBacklogBlocks))
    let uptimeMs = 0
    let gapSeen = false
    let blocks = 0
    const onSealed = async (b: { type: number }) => {
        blocks++
        if (b.type === RECORD_GAP) gapSeen = true
    }
    const { ledger } = await openChain({
        store,
        crypto: nodeCrypto,
        deviceId: DEVICE_ID,
        channels: SEATTLE_CHANNELS,
        ledger: { intervalMs: INTERVAL_MS, maxBlockAgeMs: 2 ** 31 },
        firmwareVersion: "bench",
        board: "model",
        checkpointEvery: DEFAULT_CHECKPOINT_EVERY,
        newKey: async () => Buffer.alloc(32, 1),
        uptimeMs: () => uptimeMs,
        onSealed,
    })
    const backlog = startBacklog({
        pause: timerPause,
        store,
        ledger,
        maxBacklogBlocks,
        checkpointEvery: DEFAULT_CHECKPOINT_EVERY,
        now: () => ({ boot: 0, uptimeMs }),
        onSealed,
    })
    let readings = 0
    // The data set is cycled if the flash holds more than one pass of it.
    while (!gapSeen) {
        const row = rows[readings % rows.length]
        uptimeMs = readings * INTERVAL_MS
        await backlog.submit(ledger.append(row.values, { boot: 0, uptimeMs }))
        if (gapSeen) break
        readings++
        await backlog.afterReading(ledger.openReadings().length)
    }
    if (flash.dropped > 0)
        throw new Error(`the flash model dropped ${flash.dropped} writes: the default backlog does not fit ${halfBytes} bytes`)
    return { readings, writes: flash.writes, collections: flash.collections, blocks }
}

export const endurance: BenchSection = {
    name: "endurance",
    description: "readings held offline in the settings flash before the first gap record (default config)",
    async run() {
        const small = await fillUntilFirstGap(8144, DEFAULT_BACKLOG_BLOCKS)
        // ESP32's 16 KB half, with the largest budget that leaves the same headroom.
        const esp32Backlog = 62
        const large = await fillUntilFirstGap(16336, esp32Backlog)
        const writesPerReading = small.writes / small.readings
        const gcPerReading = small.collections / small.readings
        const figures = {
            offlineReadings8KB: small.readings,
            offlineReadings16KB: large.readings,
            flashWritesPerReading: writesPerReading,
            gcPerDayAt1PerMin: gcPerReading * 1440,
            gcPerDayAt1PerSec: gcPerReading * 86400,
        }
        return {
            figures,
            lines: [
                `  8 KB (simulator, RP2040), backlog ${DEFAULT_BACKLOG_BLOCKS} blocks: ${small.readings} readings (${(small.readings / 60).toFixed(1)} h at one a minute) before the first gap record`,
                `  16 KB (ESP32), backlog ${esp32Backlog} blocks: ${large.readings} readings (${(large.readings / 60).toFixed(1)} h at one a minute)`,
                `  flash writes per reading ${writesPerReading.toFixed(3)} (block + head per seal, a checkpoint every ${DEFAULT_CHECKPOINT_EVERY} readings)`,
                `  garbage collections (each erases the other 8 KB half): ${figures.gcPerDayAt1PerMin.toFixed(1)} a day at one reading a minute, ${figures.gcPerDayAt1PerSec.toFixed(0)} a day at one a second`,
            ],
        }
    },
}
