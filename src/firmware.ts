/**
 * The firmware's pipeline, independent of where its parts come from: sample the channels on a
 * drift-free grid, append to the ledger, and hand every sealed block to the sink (console now;
 * flash storage and sync are further sinks). main.ts supplies the real parts, tests fast ones.
 */
import * as ds from "@devicescript/core"
import { SealedBlock, newChainHead } from "./lib/chain"
import { Ledger, LedgerOptions } from "./lib/ledger"
import { LedgerCrypto } from "./lib/keys"
import { MISSING, Reading } from "./lib/readings"
import { startSampler } from "./sampler"
import { ChannelSource, sampleChannels } from "./sensors"

export interface FirmwareOptions {
    crypto: LedgerCrypto
    deviceId: Buffer
    /** K_0 of a new chain; the ledger owns and wipes it. */
    key0: Buffer
    firmwareVersion: string
    board: string
    boot: number
    ledger: LedgerOptions
    sources: ChannelSource[]
    onSealed(block: SealedBlock): void
}

export function startFirmware(options: FirmwareOptions) {
    const { boot } = options
    const ledger = new Ledger(options.crypto, options.deviceId, options.sources.map(s => s.spec), newChainHead(options.key0), options.ledger)
    options.onSealed(ledger.sealGenesis({ boot, uptimeMs: ds.millis() }, options.firmwareVersion, options.board))
    const allMissing: Reading = options.sources.map(() => MISSING)
    const sampler = startSampler({
        intervalMs: options.ledger.intervalMs,
        onSample: async (uptimeMs, skipped) => {
            // Slots the sampler could not serve stay on the grid as readings with every value
            // missing, so later readings keep their declared times and the loss is visible.
            for (let i = skipped; i > 0; i--) {
                for (const block of ledger.append(allMissing, { boot, uptimeMs: uptimeMs - i * options.ledger.intervalMs })) options.onSealed(block)
            }
            const time = { boot, uptimeMs }
            const aged = ledger.tick(time)
            if (aged) options.onSealed(aged)
            const reading = await sampleChannels(options.sources)
            for (const block of ledger.append(reading, time)) options.onSealed(block)
        },
    })
    return { ledger, stop: sampler.stop }
}
