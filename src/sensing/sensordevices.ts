/**
 * What the firmware runs for each sensor kind: one record per kind, next to the kind's
 * description (channels, ranges, I2C address, fault rules: src/lib/sensors/sensorkinds.ts),
 * which it refers to. src/sensing/drivers.ts starts a kind from its record alone, so adding a
 * sensor kind is adding its description there, its record here, and its chip driver.
 *
 * Every driver is in every program whatever the board: FL_SENSOR picks the kind at run time.
 */
import * as ds from "@devicescript/core"
import { I2C } from "@devicescript/i2c"
import { AHT20_KIND, BME680_KIND, LTR390_KIND, SensorKind, SHT30_KIND, SHTC3_KIND, SIM_KIND } from "../lib/sensors/sensorkinds"
import { Aht20Chip } from "./chips/aht20"
import { Bme680Chip } from "./chips/bme680"
import { SensorChip } from "./chips/chip"
import { Ltr390Chip } from "./chips/ltr390"
import { Sht30Chip } from "./chips/sht30"
import { Shtc3Chip } from "./chips/shtc3"
import { ChannelSource, SensorClient } from "./sensors"
import { startSimulatedSensors } from "./simsensors"

export interface SensorDevice {
    kind: SensorKind
    /**
     * fieldledger's driver for the part at `address` (the kind's `i2cAddress`) on `bus`; absent
     * for a kind with no I2C part.
     */
    chip?: (bus: I2C, address: number) => SensorChip
    /**
     * For a kind with a chip, where there is no I2C (the simulator): clients of simulated
     * sensors, requested by role name. The clients in the order of the kind's channels,
     * undefined for a channel the simulators have no sensor for. Started in the background:
     * the simulators may never answer.
     */
    simulatorDriver?: () => Promise<(SensorClient | undefined)[]>
    /** For a kind with no chip (the simulated "sim"): its channel sources, read by the sampler directly. */
    sources?: () => ChannelSource[]
}

/**
 * Simulated sensors by role name, exactly as `@devicescript/drivers`' start functions ask for
 * them in the simulator (`startSimulatorServer`: the service's name, "_0", then the part's min,
 * max and errorValue), so VS Code's DeviceScript simulators bind to them as before. Naming them
 * here instead of calling those drivers keeps the upstream drivers' I2C code (about 8 KB of
 * function code, never run in the simulator) out of the program (docs/DEVICESCRIPT.md, the
 * 64 KB function budget).
 */
function temperatureHumidity(temperature: string, humidity: string): SensorClient[] {
    return [
        new ds.Temperature(ds.Temperature.spec.name + "_0?" + temperature),
        new ds.Humidity(ds.Humidity.spec.name + "_0?min=0&max=100&" + humidity),
    ]
}

export const SENSOR_DEVICES: SensorDevice[] = [
    {
        kind: SHTC3_KIND,
        chip: (bus, address) => new Shtc3Chip(bus, address),
        simulatorDriver: async () => temperatureHumidity("min=-40&max=125&errorValue=0.8", "errorValue=3.5"),
    },
    {
        kind: SHT30_KIND,
        chip: (bus, address) => new Sht30Chip(bus, address),
        simulatorDriver: async () => temperatureHumidity("min=-40&max=125&errorValue=0.6", "errorValue=4"),
    },
    {
        kind: AHT20_KIND,
        chip: (bus, address) => new Aht20Chip(bus, address),
        simulatorDriver: async () => temperatureHumidity("min=-40&max=85&errorValue=1.5", "errorValue=4"),
    },
    {
        kind: BME680_KIND,
        chip: (bus, address) => new Bme680Chip(bus, address),
        simulatorDriver: async () => {
            const [temperature, humidity] = temperatureHumidity("min=-40&max=85&errorValue=1", "errorValue=3")
            // The simulators have no gas sensor (the upstream driver's fourth simulated sensor is
            // an air-quality index, not the resistance in Ohm the channel declares).
            return [temperature, humidity, new ds.AirPressure(ds.AirPressure.spec.name + "_0?min=300&max=1100&errorValue=0.12"), undefined]
        },
    },
    {
        kind: LTR390_KIND,
        chip: (bus, address) => new Ltr390Chip(bus, address),
        simulatorDriver: async () => [new ds.UvIndex(ds.UvIndex.spec.name + "_0"), new ds.Illuminance(ds.Illuminance.spec.name + "_0")],
    },
    {
        kind: SIM_KIND,
        sources: () => startSimulatedSensors(1),
    },
]

/** The record of sensor kind `kind` (matched by id). */
export function sensorDevice(kind: SensorKind): SensorDevice {
    for (const d of SENSOR_DEVICES) if (d.kind.id === kind.id) return d
    throw new RangeError("sensor kind " + kind.id + " has no device record (src/sensing/sensordevices.ts)")
}
