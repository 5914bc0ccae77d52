/**
 * The device's wiring, shared by src/main.ts and the power-cut harness's entry: open (or
 * continue) the chain in flash, show the backlog it still holds, and run the pipeline.
 */
import * as ds from "@devicescript/core"
import { printSealedBlock } from "./blockprinter"
import { FirmwareConfig, FIRMWARE_VERSION } from "./config"
import { deviceCrypto } from "./crypto"
import { loadDeviceKey } from "./devicekey"
import { startFirmware } from "./firmware"
import { startBacklog } from "./lib/backlog"
import { ChainStore } from "./lib/chainstore"
import { slotsForBacklog } from "./lib/defaults"
import { openChain } from "./lib/recovery"
import { ChannelSource } from "./sensors"
import { settingsStore } from "./settingsstore"

export interface DeviceOptions {
    config: FirmwareConfig
    sources: ChannelSource[]
    /** Called after every reading with the boot and the open block's size (diagnostics). */
    afterReading?(boot: number, openReadings: number): Promise<void>
}

/** One console line of state per commit: what a technician or the dashboard reads. */
async function printStatus(store: ChainStore, pendingInRam: number, boot: number) {
    const h = store.currentHead()
    const lost = h.loss ? " lost=" + h.loss.fromSeq + ".." + h.loss.toSeq : ""
    const backlog = store.backlogBlocks()
    console.log("fl:status seq=" + h.seq + " backlog=" + backlog + " readings=" + (await store.backlogReadings()) + " free_slots=" + (store.slots - backlog) + " ram=" + pendingInRam + " boot=" + boot + lost)
}

export async function runDevice(options: DeviceOptions) {
    const { config, sources } = options
    const deviceId = Buffer.from(ds.deviceIdentifier("self"), "hex")
    // Two slots more than the budget: room for the gap record a drop seals.
    const store = new ChainStore(settingsStore, deviceCrypto, deviceId, slotsForBacklog(config.maxBacklogBlocks))
    const chain = await openChain({
        store,
        crypto: deviceCrypto,
        deviceId,
        channels: sources.map(s => s.spec),
        ledger: config.ledger,
        firmwareVersion: FIRMWARE_VERSION,
        board: config.board,
        checkpointEvery: config.checkpointEvery,
        newKey: loadDeviceKey,
        uptimeMs: () => ds.millis(),
        onSealed: async b => printSealedBlock(b),
    })
    const head = store.currentHead()
    console.log("fl:boot " + chain.boot + (chain.created ? " new chain" : " chain continues at seq " + head.seq) + ", backlog " + store.backlogBlocks() + " blocks")
    // The backlog on the console: what a developer (or a host tool) sees of the stored chain
    // until a gateway syncs it.
    for (let s = head.oldestSeq; s < head.seq; s++) {
        const bytes = await store.readBlock(s)
        if (bytes) printSealedBlock({ seq: s, type: bytes[1], bytes, hash: undefined })
    }
    const sink = startBacklog({
        store,
        ledger: chain.ledger,
        maxBacklogBlocks: config.maxBacklogBlocks,
        checkpointEvery: config.checkpointEvery,
        whenFull: config.whenFull,
        now: () => chain.ledger.latestReadingTime() || { boot: chain.boot, uptimeMs: ds.millis() },
        onSealed: async b => {
            printSealedBlock(b)
            await printStatus(store, sink.pending(), chain.boot)
        },
    })
    // Blocks sealed while recovering from a reset go through the backlog, which makes room.
    await sink.submit(chain.recovered)
    startFirmware({
        ledger: chain.ledger,
        boot: chain.boot,
        intervalMs: config.ledger.intervalMs,
        sources,
        onSealed: sink.submit,
        shouldSample: sink.shouldSample,
        afterReading: async n => {
            await sink.afterReading(n)
            if (options.afterReading) await options.afterReading(chain.boot, n)
        },
    })
}
