/**
 * The firmware's pipeline, independent of where its parts come from: sample the channels on a
 * drift-free grid, append to the ledger, hand every sealed block to the sink (flash, console,
 * sync), and checkpoint the open block every few readings. main.ts supplies the real parts,
 * tests fast ones.
 */
import * as ds from "@devicescript/core"
import { SealedBlock } from "../lib/ledger/chain"
import { BlockTime } from "../lib/codec/format"
import { Ledger } from "../lib/ledger/ledger"
import { MISSING, Reading } from "../lib/codec/readings"
import { startSampler } from "../sensing/sampler"
import { ChannelSource, sampleChannels } from "../sensing/sensors"

export interface FirmwareOptions {
    ledger: Ledger
    boot: number
    intervalMs: number
    sources: ChannelSource[]
    /** Persists (and shows, sends) the blocks one step sealed, in seal order. */
    onSealed(blocks: readonly SealedBlock[]): Promise<void>
    /** Called after every reading with how many the open block holds (for checkpoints). */
    afterReading?(openReadings: number): Promise<void>
    /** Whether to take the reading due now (false: the backlog is full and sampling stops). */
    shouldSample?(time: { boot: number; uptimeMs: number }): Promise<boolean>
    /** Wall-clock seconds at an uptime of this boot, once a gateway has told the time. */
    unixTimeAt?(uptimeMs: number): number | undefined
}

export function startFirmware(options: FirmwareOptions) {
    const { boot, ledger, intervalMs } = options
    const allMissing: Reading = options.sources.map(() => MISSING)
    const emit = async (blocks: readonly SealedBlock[]) => {
        if (blocks.length > 0) await options.onSealed(blocks)
    }
    const sampler = startSampler({
        intervalMs,
        onSample: async (uptimeMs, skipped) => {
            // Slots the sampler could not serve stay on the grid as readings with every value
            // missing, so later readings keep their declared times and the loss is visible.
            for (let i = skipped; i > 0; i--) await emit(ledger.append(allMissing, { boot, uptimeMs: uptimeMs - i * intervalMs }))
            const time: BlockTime = { boot, uptimeMs }
            const unix = options.unixTimeAt ? options.unixTimeAt(uptimeMs) : undefined
            if (unix !== undefined) time.unixTime = unix
            if (options.shouldSample && !(await options.shouldSample(time))) return
            const aged = ledger.tick(time)
            if (aged) await emit([aged])
            const reading = await sampleChannels(options.sources)
            await emit(ledger.append(reading, time))
            if (options.afterReading) await options.afterReading(ledger.openReadingCount())
        },
    })
    return { ledger, stop: sampler.stop }
}
