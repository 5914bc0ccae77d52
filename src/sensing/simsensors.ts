/**
 * Simulated temperature, humidity and pressure sensors served inside the program, so the
 * WASM simulator (which has no I2C) gives the firmware the same Jacdac clients as a board.
 * Channels, ranges and fault rules are the "sim" sensor kind (src/lib/sensors/sensorkinds.ts).
 */
import * as ds from "@devicescript/core"
import { SensorServer, startServer } from "@devicescript/server"
import { RandomWalk } from "../lib/sensors/randomwalk"
import { sensorKind } from "../lib/sensors/sensorkinds"
import { ChannelSource, sensorChannel } from "./sensors"

/** How old a streamed sample may be before the channel counts the sensor as missing. */
export const SAMPLE_MAX_AGE_MS = 5000

/** A Jacdac sensor server whose reading register follows a random walk. */
class WalkingSensorServer extends SensorServer {
    constructor(spec: ds.ServiceSpec, private readonly walk: RandomWalk) {
        super(spec)
    }

    async reading() {
        return this.walk.next()
    }
}

function serve(spec: ds.ServiceSpec, walk: RandomWalk, name: string): string {
    return startServer(new WalkingSensorServer(spec, walk), { roleName: name })
}

export function startSimulatedSensors(seed: number): ChannelSource[] {
    const kind = sensorKind("sim")
    const temperature = new ds.Temperature(serve(ds.Temperature.spec, new RandomWalk(seed, 21, 0.05, -10, 45), "simTemperature"))
    const humidity = new ds.Humidity(serve(ds.Humidity.spec, new RandomWalk(seed + 1, 45, 0.2, 5, 95), "simHumidity"))
    const pressure = new ds.AirPressure(serve(ds.AirPressure.spec, new RandomWalk(seed + 2, 1013, 0.05, 950, 1050), "simPressure"))
    return [
        sensorChannel(kind.channels[0], () => temperature, SAMPLE_MAX_AGE_MS),
        sensorChannel(kind.channels[1], () => humidity, SAMPLE_MAX_AGE_MS),
        sensorChannel(kind.channels[2], () => pressure, SAMPLE_MAX_AGE_MS),
    ]
}
