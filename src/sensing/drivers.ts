/**
 * The channels of a sensor kind, in the order src/lib/sensors/sensorkinds.ts declares.
 *
 * On a board: fieldledger's own chip driver (src/sensing/chips/) on the I2C bus, read by the sampler
 * itself, so an unplugged or failing sensor is a fault marker and never a restart.
 *
 * A kind with no part (the simulated "sim"): its channel sources (src/sensing/simsensors.ts).
 *
 * In the simulator (which has no I2C): the `@devicescript/drivers` driver, which there skips
 * I2C and requests simulated sensors by role name for the VS Code / devtools simulators to bind; under
 * `devs run --test` nothing binds and every channel is `missing`. There the driver's init
 * returns at once (it skips I2C), so it is started once; a sensor the simulators do not
 * provide is a channel that stays missing. The device tests pass a fake bus (`bus`) to run the
 * chip drivers in the simulator.
 *
 * Which chip and which binding: the kind's record (src/sensing/sensordevices.ts).
 */
import * as ds from "@devicescript/core"
import { i2c, I2C } from "@devicescript/i2c"
import { chipChannels } from "./chips/chipchannels"
import { FAULT_MISSING, SensorKind } from "../lib/sensors/sensorkinds"
import { ChannelSource, SensorClient, sensorChannel, SensorFault } from "./sensors"
import { sensorDevice } from "./sensordevices"
import { SAMPLE_MAX_AGE_MS } from "./simsensors"
import { faultLine, sensorLine } from "../lib/log/lines"

/**
 * @param bus the I2C bus of the chip drivers: a fake one in the device tests (default: the
 *     board's; in the simulator, without one, the simulated sensors)
 */
export function startDriverSensors(kind: SensorKind, bus?: I2C): ChannelSource[] {
    const device = sensorDevice(kind)
    if (device.chip && (bus || !ds.isSimulator())) return chipChannels(kind, device.chip(bus || i2c, kind.i2cAddress))
    if (device.sources) return device.sources()
    let clients: (SensorClient | undefined)[] | undefined
    setTimeout(async () => {
        try {
            clients = await device.simulatorDriver()
            console.log(sensorLine(kind.id + " started (" + kind.part + ")"))
        } catch (e) {
            console.log(faultLine("*", FAULT_MISSING, "begin", kind.id + " driver: " + (e as Error).message))
        }
    }, 0)
    return kind.channels.map((c, i) =>
        sensorChannel(
            c,
            () => {
                if (!clients) return undefined
                if (!clients[i]) throw new SensorFault(FAULT_MISSING, "the simulators have no " + c.spec.name + " sensor")
                return clients[i]
            },
            SAMPLE_MAX_AGE_MS
        )
    )
}
