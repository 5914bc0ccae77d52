/**
 * Sensor channels as the ledger sees them: a channel spec and an async read. A read that throws
 * or returns garbage becomes MISSING (a fault marker in the chain), never a crash.
 */
import { ChannelSpec } from "./lib/format"
import { toFixedPoint } from "./lib/fixedpoint"
import { MISSING, Reading } from "./lib/readings"

export interface ChannelSource {
    spec: ChannelSpec
    /** The physical value in the spec's unit. */
    read(): Promise<number>
}

/** One reading across all channels; each channel fails on its own. */
export async function sampleChannels(sources: ChannelSource[]): Promise<Reading> {
    const reading: Reading = []
    for (const source of sources) {
        let value: number | null = MISSING
        try {
            value = toFixedPoint(await source.read(), source.spec.exponent)
        } catch (e) {
            console.log("fl:fault channel=" + source.spec.name + " error=" + e)
        }
        reading.push(value)
    }
    return reading
}
