/**
 * Starts the I2C driver (from `@devicescript/drivers`) of a sensor kind and maps its Jacdac
 * clients to ledger channels in the order src/lib/sensorkinds.ts declares. A sensor absent at
 * start (the driver's init throws DriverError) is not fatal: its channels record faults and
 * the driver is retried every `retryMs` until the sensor answers.
 *
 * In the simulator the drivers skip I2C and request simulated sensors by role name, which the
 * VS Code / devtools simulators bind; under `devs run --test` nothing binds and every channel
 * is `missing`.
 */
import * as ds from "@devicescript/core"
import { startAHT20, startBME680, startLTR390, startSHT30, startSHTC3 } from "@devicescript/drivers"
import { SensorKind } from "./lib/sensorkinds"
import { ChannelSource, SensorClient, sensorChannel } from "./sensors"
import { SAMPLE_MAX_AGE_MS } from "./simsensors"

/** The driver's clients in the order of the kind's channels. */
async function startDriver(id: string): Promise<SensorClient[]> {
    if (id === "shtc3") {
        const s = await startSHTC3()
        return [s.temperature, s.humidity]
    }
    if (id === "sht30") {
        const s = await startSHT30()
        return [s.temperature, s.humidity]
    }
    if (id === "aht20") {
        const s = await startAHT20()
        return [s.temperature, s.humidity]
    }
    if (id === "bme680") {
        const s = await startBME680()
        return [s.temperature, s.humidity, s.pressure, s.airQualityIndex]
    }
    if (id === "ltr390") {
        const s = await startLTR390()
        return [s.uvIndex, s.illuminance]
    }
    throw new RangeError("no driver for sensor kind " + id)
}

export interface DriverSensorOptions {
    /** Time between attempts to start a driver whose sensor did not answer. */
    retryMs: number
}

export function startDriverSensors(kind: SensorKind, options: DriverSensorOptions): ChannelSource[] {
    let clients: SensorClient[] | undefined
    let starting = false
    const attempt = async () => {
        if (clients || starting) return
        starting = true
        try {
            clients = await startDriver(kind.id)
            console.log("fl:sensor " + kind.id + " started (" + kind.part + ")")
        } catch (e) {
            console.log("fl:fault channel=* kind=missing state=begin detail=" + kind.id + " driver: " + (e as Error).message)
            setTimeout(async () => {
                try {
                    await attempt()
                } catch (e2) {
                    console.log("fl:error driver retry: " + e2)
                }
            }, options.retryMs)
        } finally {
            starting = false
        }
    }
    setTimeout(async () => {
        try {
            await attempt()
        } catch (e) {
            console.log("fl:error driver start: " + e)
        }
    }, 0)
    return kind.channels.map((c, i) => sensorChannel(c, () => (clients ? clients[i] : undefined), SAMPLE_MAX_AGE_MS))
}
