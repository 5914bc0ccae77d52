/**
 * fieldledger firmware: sensors -> ledger -> sealed blocks. Wiring only; each part lives in
 * its own module. Storage (flash) and sync come in as further sinks of sealed blocks.
 */
import * as ds from "@devicescript/core"
import { deviceCrypto } from "./crypto"
import { FIRMWARE_VERSION, loadConfig } from "./config"
import { newChainHead } from "./lib/chain"
import { Ledger } from "./lib/ledger"
import { printSealedBlock } from "./blockprinter"
import { loadDeviceKey } from "./devicekey"
import { startSampler } from "./sampler"
import { sampleChannels } from "./sensors"
import { startSimulatedSensors } from "./simsensors"

async function main() {
    const config = await loadConfig()
    const deviceId = Buffer.from(ds.deviceIdentifier("self"), "hex")
    const sources = startSimulatedSensors(1)
    const key0 = await loadDeviceKey()
    const ledger = new Ledger(deviceCrypto, deviceId, sources.map(s => s.spec), newChainHead(key0), config.ledger)
    const boot = 0
    printSealedBlock(ledger.sealGenesis({ boot, uptimeMs: ds.millis() }, FIRMWARE_VERSION, config.board))
    startSampler({
        intervalMs: config.ledger.intervalMs,
        onSample: async (uptimeMs, skipped) => {
            const reading = await sampleChannels(sources)
            for (const block of ledger.append(reading, { boot, uptimeMs })) printSealedBlock(block)
        },
    })
}

await main()
