/**
 * Sensor channels as the ledger sees them: a channel spec and an async read. A read that throws,
 * a sensor that is gone, a value out of the part's range or stuck becomes MISSING (the fault
 * marker in the chain) and one `fl:fault` console line per transition, never a crash; the
 * rules are src/lib/sensors/sensorkinds.ts (ChannelHealth).
 */
import * as ds from "@devicescript/core"
import { ChannelSpec } from "../lib/codec/format"
import { ChannelHealth, ChannelKind, faultLine, FAULT_MISSING, FAULT_READ_ERROR } from "../lib/sensors/sensorkinds"
import { MISSING, Reading } from "../lib/codec/readings"

export interface ChannelSource {
    spec: ChannelSpec
    /** The physical value in the spec's unit; throws a SensorFault (or any error) when it has none. */
    read(): Promise<number>
    /** Range and stuck rules; a source without one gets range-free tracking on first use. */
    health?: ChannelHealth
}

/** A read that has no value for a known reason (the sensor is not there, no fresh sample). */
export class SensorFault extends Error {
    constructor(
        readonly kind: string,
        message: string
    ) {
        super(message)
        this.name = "SensorFault"
    }
}

/** One reading across all channels; each channel fails on its own. */
export async function sampleChannels(sources: ChannelSource[]): Promise<Reading> {
    const reading: Reading = []
    for (const source of sources) {
        if (!source.health) source.health = new ChannelHealth({ spec: source.spec, stuckAfter: 0 })
        let value: number | null = MISSING
        try {
            const raw = await source.read()
            const o = source.health.observe(raw)
            value = o.value
            if (o.event) console.log(faultLine(source.spec.name, o))
        } catch (e) {
            const kind = e instanceof SensorFault ? (e as SensorFault).kind : FAULT_READ_ERROR
            const o = source.health.observeError(kind, (e as Error).message)
            if (o.event) console.log(faultLine(source.spec.name, o))
        }
        reading.push(value)
    }
    return reading
}

/** A Jacdac sensor client: the simulated chip sensors' clients (src/sensing/sensordevices.ts) have this shape. */
export interface SensorClient {
    readonly isBound: boolean
    readonly reading: ds.Register<number>
}

/**
 * A ledger channel fed by a Jacdac sensor client. Reads never wait on the bus: the client's
 * streamed samples are cached, and a read answers from the cache or fails at once (an unbound
 * role's `reading.read()` waits forever, which would stop sampling). `client` returns
 * undefined while the sensor's driver has not started.
 */
export function sensorChannel(kind: ChannelKind, client: () => SensorClient | undefined, maxAgeMs: number): ChannelSource {
    let subscribed: SensorClient | undefined
    let last = 0
    let lastAt = -1
    return {
        spec: kind.spec,
        health: new ChannelHealth(kind),
        read: async () => {
            const c = client()
            if (!c) throw new SensorFault(FAULT_MISSING, "driver not started")
            if (subscribed !== c) {
                subscribed = c
                lastAt = -1
                c.reading.subscribe(v => {
                    last = v
                    lastAt = ds.millis()
                })
            }
            if (!c.isBound) throw new SensorFault(FAULT_MISSING, "no sensor bound")
            if (lastAt < 0) throw new SensorFault(FAULT_MISSING, "no sample yet")
            const age = ds.millis() - lastAt
            if (age > maxAgeMs) throw new SensorFault(FAULT_MISSING, "no sample for " + age + " ms")
            return last
        },
    }
}

/**
 * Waits (up to `timeoutMs`) until every channel returns a value: Jacdac sensors bind and
 * stream their first sample a moment after start, and readings taken before that would be
 * recorded as faults. A sensor still silent at the deadline is a fault, and sampling starts.
 * It reads the sources directly, so waiting neither logs faults nor counts toward them.
 */
export async function waitForSensors(sources: ChannelSource[], timeoutMs: number): Promise<boolean> {
    const deadline = ds.millis() + timeoutMs
    while (true) {
        let ready = true
        for (const s of sources) {
            try {
                const v = await s.read()
                if (typeof v !== "number") ready = false
            } catch (e) {
                ready = false
            }
        }
        if (ready) return true
        if (ds.millis() >= deadline) return false
        await ds.sleep(50)
    }
}
