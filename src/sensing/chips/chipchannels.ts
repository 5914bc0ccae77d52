/**
 * The ledger channels of one I2C chip. A sample reads every channel in turn; the first read
 * measures the chip once for all of its channels and the others take their value from that
 * measurement, so a 4-channel part is measured once per sample, not four times.
 *
 * Faults: a chip that does not answer its set-up is FAULT_MISSING; a measurement that fails
 * (I2C error, bad CRC, not ready) is FAULT_READ_ERROR, and every channel of that sample shares
 * the one error instead of retrying the bus; a chip may also fault one channel alone (the
 * BME680's gas when its heater is not stable). After any failure the chip is set up again on the
 * next sample: a sensor plugged back in (or power-cycled, which loses its configuration) then
 * recovers by itself.
 */
import * as ds from "@devicescript/core"
import { ChannelHealth, FAULT_MISSING, FAULT_READ_ERROR, SensorKind } from "../../lib/sensors/sensorkinds"
import { ChannelSource, SensorFault } from "../sensors"
import { ChipValue, SensorChip } from "./chip"

export function chipChannels(kind: SensorKind, chip: SensorChip): ChannelSource[] {
    if (kind.channels.length < 1) throw new RangeError("sensor kind " + kind.id + " has no channels")
    let ready = false
    let values: ChipValue[] | undefined
    let failure: SensorFault | undefined
    /** Which channels have taken the current measurement (or its failure). */
    const taken: boolean[] = kind.channels.map(() => true)
    let measuring = false

    const measureOnce = async () => {
        values = undefined
        failure = undefined
        if (!ready) {
            try {
                await chip.begin()
                ready = true
            } catch (e) {
                failure = new SensorFault(FAULT_MISSING, chip.part + " does not answer: " + (e as Error).message)
            }
        }
        if (ready) {
            try {
                const measured = await chip.measure()
                if (measured.length !== kind.channels.length)
                    throw new RangeError("measured " + measured.length + " values for " + kind.channels.length + " channels")
                values = measured
            } catch (e) {
                ready = false
                failure = new SensorFault(FAULT_READ_ERROR, chip.part + ": " + (e as Error).message)
            }
        }
        for (let i = 0; i < taken.length; i++) taken[i] = false
    }

    const read = async (index: number): Promise<number> => {
        // A channel read while a measurement runs waits for it; one that has already taken
        // the current measurement starts the next.
        while (measuring) await ds.sleep(5)
        if (taken[index]) {
            measuring = true
            try {
                await measureOnce()
            } finally {
                measuring = false
            }
        }
        taken[index] = true
        if (failure) throw failure
        const value = values[index]
        if (value instanceof SensorFault) throw value
        return value as number
    }

    return kind.channels.map((channel, index) => ({
        spec: channel.spec,
        health: new ChannelHealth(channel),
        read: async () => await read(index),
    }))
}
