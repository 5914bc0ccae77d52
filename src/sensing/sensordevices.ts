/**
 * What the firmware runs for each sensor kind: one record per kind, next to the kind's
 * description (channels, ranges, I2C address, fault rules: src/lib/sensors/sensorkinds.ts),
 * which it refers to. src/sensing/drivers.ts starts a kind from its record alone, so adding a
 * sensor kind is adding its description there, its record here, and its chip driver.
 *
 * Every driver is in every program whatever the board: FL_SENSOR picks the kind at run time.
 */
import { startAHT20, startBME680, startLTR390, startSHT30, startSHTC3 } from "@devicescript/drivers"
import { I2C } from "@devicescript/i2c"
import { AHT20_KIND, BME680_KIND, LTR390_KIND, SensorKind, SHT30_KIND, SHTC3_KIND, SIM_KIND } from "../lib/sensors/sensorkinds"
import { Aht20Chip } from "./chips/aht20"
import { Bme680Chip } from "./chips/bme680"
import { SensorChip } from "./chips/chip"
import { Ltr390Chip } from "./chips/ltr390"
import { Sht30Chip } from "./chips/sht30"
import { Shtc3Chip } from "./chips/shtc3"
import { SensorClient } from "./sensors"
import { simulatedClients } from "./simsensors"

export interface SensorDevice {
    kind: SensorKind
    /**
     * fieldledger's driver for the part at `address` (the kind's `i2cAddress`) on `bus`; absent
     * for a kind with no I2C part.
     */
    chip?: (bus: I2C, address: number) => SensorChip
    /**
     * For a kind with a chip, where there is no I2C (the simulator): its `@devicescript/drivers`
     * driver, which there asks the simulators for sensors by role. The clients in the order of
     * the kind's channels, undefined for a channel the simulators have no sensor for. Started
     * in the background: the simulators may never answer.
     */
    simulatorDriver?: () => Promise<(SensorClient | undefined)[]>
    /**
     * For a kind with no chip: Jacdac servers inside the program, started at once (a server
     * started after the program's first announce never binds); their clients in channel order.
     */
    servers?: () => SensorClient[]
}

/** The clients of a temperature-and-humidity driver (SHTC3, SHT30, AHT20), in their kinds' channel order. */
async function temperatureHumidity(start: () => Promise<{ temperature: SensorClient; humidity: SensorClient }>): Promise<SensorClient[]> {
    const s = await start()
    return [s.temperature, s.humidity]
}

export const SENSOR_DEVICES: SensorDevice[] = [
    {
        kind: SHTC3_KIND,
        chip: (bus, address) => new Shtc3Chip(bus, address),
        simulatorDriver: async () => await temperatureHumidity(startSHTC3),
    },
    {
        kind: SHT30_KIND,
        chip: (bus, address) => new Sht30Chip(bus, address),
        simulatorDriver: async () => await temperatureHumidity(startSHT30),
    },
    {
        kind: AHT20_KIND,
        chip: (bus, address) => new Aht20Chip(bus, address),
        simulatorDriver: async () => await temperatureHumidity(startAHT20),
    },
    {
        kind: BME680_KIND,
        chip: (bus, address) => new Bme680Chip(bus, address),
        simulatorDriver: async () => {
            const s = await startBME680()
            // Its fourth client is an air-quality index, not the gas resistance in Ohm the
            // channel declares: the simulators have no gas sensor.
            return [s.temperature, s.humidity, s.pressure, undefined]
        },
    },
    {
        kind: LTR390_KIND,
        chip: (bus, address) => new Ltr390Chip(bus, address),
        simulatorDriver: async () => {
            const s = await startLTR390()
            return [s.uvIndex, s.illuminance]
        },
    },
    {
        kind: SIM_KIND,
        servers: () => simulatedClients(1),
    },
]

/** The record of sensor kind `kind` (matched by id). */
export function sensorDevice(kind: SensorKind): SensorDevice {
    for (const d of SENSOR_DEVICES) if (d.kind.id === kind.id) return d
    throw new RangeError("sensor kind " + kind.id + " has no device record (src/sensing/sensordevices.ts)")
}
