/**
 * The channels of a sensor kind, in the order src/lib/sensors/sensorkinds.ts declares.
 *
 * On a board: fieldledger's own chip driver (src/sensing/chips/) on the I2C bus, read by the sampler
 * itself, so an unplugged or failing sensor is a fault marker and never a restart.
 *
 * In the simulator (which has no I2C): the `@devicescript/drivers` driver, which there skips
 * I2C and requests simulated sensors by role name for the VS Code / devtools simulators to
 * bind; under `devs run --test` nothing binds and every channel is `missing`. There the
 * driver's init returns at once (it skips I2C), so it is started once; a sensor the simulators
 * do not provide is a channel that stays missing. The device tests pass a fake bus (`bus`) to
 * run the chip drivers in the simulator.
 */
import * as ds from "@devicescript/core"
import { startAHT20, startBME680, startLTR390, startSHT30, startSHTC3 } from "@devicescript/drivers"
import { i2c, I2C } from "@devicescript/i2c"
import { chipChannels } from "./chips/chipchannels"
import { newSensorChip } from "./chips/registry"
import { ChannelHealth, ChannelKind, FAULT_MISSING, SensorKind } from "../lib/sensors/sensorkinds"
import { ChannelSource, SensorClient, sensorChannel, SensorFault } from "./sensors"
import { SAMPLE_MAX_AGE_MS } from "./simsensors"
import { faultLine, sensorLine } from "../lib/log/lines"

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
        // Its fourth client is an air-quality index, not the gas resistance in Ohm the
        // channel declares: the gas channel has no simulated sensor (see unsimulated()).
        return [s.temperature, s.humidity, s.pressure]
    }
    if (id === "ltr390") {
        const s = await startLTR390()
        return [s.uvIndex, s.illuminance]
    }
    throw new RangeError("no driver for sensor kind " + id)
}

/**
 * @param bus the I2C bus of the chip drivers: a fake one in the device tests (default: the
 *     board's; in the simulator, without one, the simulated sensors)
 */
export function startDriverSensors(kind: SensorKind, bus?: I2C): ChannelSource[] {
    if (bus || !ds.isSimulator()) {
        const chip = newSensorChip(kind.id, bus || i2c)
        if (chip) return chipChannels(kind, chip)
    }
    let clients: SensorClient[] | undefined
    setTimeout(async () => {
        try {
            clients = await startDriver(kind.id)
            console.log(sensorLine(kind.id + " started (" + kind.part + ")"))
        } catch (e) {
            console.log(faultLine("*", FAULT_MISSING, "begin", kind.id + " driver: " + (e as Error).message))
        }
    }, 0)
    return kind.channels.map((c, i) =>
        kind.id === "bme680" && c.spec.name === "gas" ? unsimulated(c) : sensorChannel(c, () => (clients ? clients[i] : undefined), SAMPLE_MAX_AGE_MS)
    )
}

/** A channel the simulators have no sensor for: missing on every read, saying why. */
function unsimulated(channel: ChannelKind): ChannelSource {
    return {
        spec: channel.spec,
        health: new ChannelHealth(channel),
        read: async () => {
            throw new SensorFault(FAULT_MISSING, "the simulators have no " + channel.spec.name + " sensor")
        },
    }
}
