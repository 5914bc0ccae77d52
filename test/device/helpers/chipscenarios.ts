/**
 * The fault scenarios every I2C chip driver goes through on the fake bus, through the
 * firmware's own wiring (startDriverSensors with the bus injected): values decoded to within
 * the part's resolution, one measurement per sample, a sensor missing at start, unplugged and
 * plugged back in at run time, a corrupted reply, and a value outside the part's range. Each
 * fault is MISSING in the reading and a fault on the channel's health; nothing throws.
 */
import * as ds from "@devicescript/core"
import { expect, test } from "@devicescript/test"
import { startDriverSensors } from "../../../src/sensing/drivers"
import { toFixedPoint } from "../../../src/lib/codec/fixedpoint"
import { MISSING, Reading } from "../../../src/lib/codec/readings"
import { FAULT_MISSING, FAULT_OUT_OF_RANGE, FAULT_READ_ERROR, sensorKind, SensorKind } from "../../../src/lib/sensors/sensorkinds"
import { ChannelSource, sampleChannels } from "../../../src/sensing/sensors"
import { FakeConditions, FakeI2C, FakeI2CPart } from "./fakei2c"

export interface ChipCase {
    /** FL_SENSOR value of the part. */
    kind: string
    address: number
    newPart(conditions: FakeConditions): FakeI2CPart
    /** Plausible values per channel for measurement n (they change, so none is stuck). */
    values(n: number): number[]
    /** Largest difference, in fixed-point units per channel, between value and recording. */
    tolerance: number[]
    /** A measurement with channel 0 beyond the part's range. */
    outOfRange: number[]
}

export interface ChipRig {
    kind: SensorKind
    bus: FakeI2C
    conditions: FakeConditions
    part: FakeI2CPart
    sources: ChannelSource[]
}

export function chipRig(c: ChipCase, values?: (n: number) => number[]): ChipRig {
    const kind = sensorKind(c.kind)
    // The part sits at the datasheet's address; the driver talks to its kind's.
    if (kind.i2cAddress !== c.address)
        throw new Error(c.kind + " is described at I2C address " + kind.i2cAddress + ", its part answers at " + c.address)
    const bus = new FakeI2C()
    const conditions = new FakeConditions(values || c.values)
    const part = bus.attach(c.address, c.newPart(conditions))
    const sources = startDriverSensors(kind, bus)
    return { kind, bus, conditions, part, sources }
}

export async function sampleEvery(sources: ChannelSource[], count: number, intervalMs: number): Promise<Reading[]> {
    const out: Reading[] = []
    for (let i = 0; i < count; i++) {
        out.push(await sampleChannels(sources))
        await ds.sleep(intervalMs)
    }
    return out
}

function missingIn(reading: Reading): number {
    let n = 0
    for (const v of reading) if (v === MISSING) n++
    return n
}

/** Defines the standard tests for one chip (call inside a describe). */
export function chipScenarios(c: ChipCase) {
    test(c.kind + ": decodes every channel to within the part's resolution, one measurement per sample", async () => {
        const rig = chipRig(c)
        expect(rig.sources.length).toBe(rig.kind.channels.length)
        const readings = await sampleEvery(rig.sources, 4, 20)
        expect(rig.conditions.measurements).toBe(4)
        const specs = rig.sources.map(s => s.spec)
        for (let n = 0; n < readings.length; n++) {
            const expected = c.values(n)
            for (let ch = 0; ch < specs.length; ch++) {
                const exponent = specs[ch].exponent
                const want = toFixedPoint(expected[ch], exponent) as number
                const got = readings[n][ch]
                if (got === MISSING || Math.abs((got as number) - want) > c.tolerance[ch])
                    throw new Error(
                        c.kind +
                            " measurement " +
                            n +
                            " channel " +
                            ch +
                            ": recorded " +
                            got +
                            ", expected " +
                            want +
                            " +-" +
                            c.tolerance[ch]
                    )
            }
        }
        for (const s of rig.sources) expect(s.health.fault).toBe(null)
    })

    test(c.kind + ": missing at start is a missing fault; plugged in, it recovers by itself", async () => {
        const rig = chipRig(c)
        rig.bus.unplug(c.address)
        const absent = await sampleEvery(rig.sources, 3, 20)
        for (const r of absent) expect(missingIn(r)).toBe(rig.kind.channels.length)
        expect(rig.sources[0].health.fault).toBe(FAULT_MISSING)
        rig.bus.plugIn(c.address)
        const back = await sampleEvery(rig.sources, 2, 20)
        expect(missingIn(back[1])).toBe(0)
        for (const s of rig.sources) {
            expect(s.health.fault).toBe(null)
            expect(s.health.faultsEnded).toBe(1)
        }
    })

    test(c.kind + ": unplugged at run time, sampling goes on with faults; plugged back, it is set up again", async () => {
        const rig = chipRig(c)
        const before = await sampleEvery(rig.sources, 3, 20)
        for (const r of before) expect(missingIn(r)).toBe(0)
        rig.bus.unplug(c.address)
        const gone = await sampleEvery(rig.sources, 4, 20)
        for (const r of gone) expect(missingIn(r)).toBe(rig.kind.channels.length)
        // The first failed sample is a read error; set-up then fails too, so the sensor is missing.
        expect(rig.sources[0].health.fault).toBe(FAULT_MISSING)
        expect(rig.sources[0].health.faultsBegun).toBe(2)
        rig.bus.plugIn(c.address)
        const back = await sampleEvery(rig.sources, 3, 20)
        expect(missingIn(back[0])).toBe(0)
        expect(missingIn(back[2])).toBe(0)
        for (const s of rig.sources) expect(s.health.fault).toBe(null)
    })

    test(c.kind + ": a corrupted reply is a read error for that sample only", async () => {
        const rig = chipRig(c)
        await sampleEvery(rig.sources, 2, 20)
        rig.conditions.corruptNext = true
        const readings = await sampleEvery(rig.sources, 3, 20)
        expect(missingIn(readings[0])).toBe(rig.kind.channels.length)
        expect(rig.sources[0].health.faultsBegun).toBe(1)
        expect(rig.sources[0].health.faultsEnded).toBe(1)
        expect(missingIn(readings[1])).toBe(0)
        expect(missingIn(readings[2])).toBe(0)
    })

    test(c.kind + ": a value beyond the part's range is an out-of-range fault on that channel", async () => {
        const rig = chipRig(c, n => (n === 1 ? c.outOfRange : c.values(n)))
        const readings = await sampleEvery(rig.sources, 2, 20)
        expect(readings[1][0]).toBe(MISSING)
        expect(rig.sources[0].health.fault).toBe(FAULT_OUT_OF_RANGE)
        expect(missingIn(readings[0])).toBe(0)
    })
}

export { FAULT_READ_ERROR }
