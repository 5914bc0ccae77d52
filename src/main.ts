/**
 * fieldledger firmware entry point: wiring only. Sensors -> ledger -> flash -> console.
 * The chain lives in the settings flash and continues across resets (src/lib/recovery.ts).
 */
import * as ds from "@devicescript/core"
import { printSealedBlock } from "./blockprinter"
import { FIRMWARE_VERSION, loadConfig } from "./config"
import { deviceCrypto } from "./crypto"
import { loadDeviceKey } from "./devicekey"
import { startFirmware } from "./firmware"
import { ChainStore } from "./lib/chainstore"
import { openChain } from "./lib/recovery"
import { waitForSensors } from "./sensors"
import { settingsStore } from "./settingsstore"
import { startSimulatedSensors } from "./simsensors"
import { startBacklog } from "./lib/backlog"

const config = await loadConfig()
const sources = startSimulatedSensors(1)
if (!(await waitForSensors(sources, 10000))) console.log("fl:warning some sensors did not answer within 10 s; sampling anyway")
const deviceId = Buffer.from(ds.deviceIdentifier("self"), "hex")
const store = new ChainStore(settingsStore, deviceCrypto, deviceId)
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
console.log("fl:boot " + chain.boot + (chain.created ? " new chain" : " chain continues at seq " + store.currentHead().seq))
const sink = startBacklog({
    store,
    ledger: chain.ledger,
    maxBacklogBlocks: config.maxBacklogBlocks,
    checkpointEvery: config.checkpointEvery,
    now: () => ({ boot: chain.boot, uptimeMs: ds.millis() }),
    onSealed: async b => printSealedBlock(b),
})
startFirmware({
    ledger: chain.ledger,
    boot: chain.boot,
    intervalMs: config.ledger.intervalMs,
    sources,
    onSealed: sink.onSealed,
    afterReading: sink.afterReading,
})
