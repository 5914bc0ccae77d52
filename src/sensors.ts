/**
 * Sensor channels as the ledger sees them: a channel spec and an async read. A read that throws
 * or returns garbage becomes MISSING (a fault marker in the chain), never a crash.
 */
import * as ds from "@devicescript/core"
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
            console.log("fl:fault channel=" + source.spec.name + " error=" + (e as Error).message)
        }
        reading.push(value)
    }
    return reading
}

/**
 * Waits (up to `timeoutMs`) until every channel returns a value: Jacdac sensors bind and
 * stream their first sample a moment after start, and readings taken before that would be
 * recorded as faults. A sensor still silent at the deadline is a fault, and sampling starts.
 */
export async function waitForSensors(sources: ChannelSource[], timeoutMs: number): Promise<boolean> {
    const deadline = ds.millis() + timeoutMs
    while (true) {
        const reading = await sampleChannels(sources)
        let ready = true
        for (const v of reading) if (v === MISSING) ready = false
        if (ready) return true
        if (ds.millis() >= deadline) return false
        await ds.sleep(50)
    }
}
