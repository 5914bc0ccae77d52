/**
 * Simulated temperature, humidity and pressure sensors served inside the program, so the
 * WASM simulator (which has no I2C) gives the firmware the same Jacdac clients as a board.
 * Channels, ranges and fault rules are the "sim" sensor kind (src/lib/sensors/sensorkinds.ts).
 */
import * as ds from "@devicescript/core"
import { SensorServer, startServer } from "@devicescript/server"
import { RandomWalk } from "../lib/sensors/randomwalk"
import { SensorKind, SIM_KIND } from "../lib/sensors/sensorkinds"
import { ChannelSource, SensorClient, sensorChannel } from "./sensors"

/** How old a streamed sample may be before the channel counts the sensor as missing. */
export const SAMPLE_MAX_AGE_MS = 5000

/** A Jacdac sensor server whose reading register follows a random walk. */
class WalkingSensorServer extends SensorServer {
    constructor(
        spec: ds.ServiceSpec,
        private readonly walk: RandomWalk
    ) {
        super(spec)
    }

    async reading() {
        return this.walk.next()
    }
}

function serve(spec: ds.ServiceSpec, walk: RandomWalk, name: string): string {
    return startServer(new WalkingSensorServer(spec, walk), { roleName: name })
}

/** Starts the servers; their clients, in the order of the "sim" kind's channels. */
export function simulatedClients(seed: number): SensorClient[] {
    return [
        new ds.Temperature(serve(ds.Temperature.spec, new RandomWalk(seed, 21, 0.05, -10, 45), "simTemperature")),
        new ds.Humidity(serve(ds.Humidity.spec, new RandomWalk(seed + 1, 45, 0.2, 5, 95), "simHumidity")),
        new ds.AirPressure(serve(ds.AirPressure.spec, new RandomWalk(seed + 2, 1013, 0.05, 950, 1050), "simPressure")),
    ]
}

/** The "sim" kind's channels, fed by servers started now (the firmware starts them through its record in sensordevices.ts). */
export function startSimulatedSensors(seed: number): ChannelSource[] {
    return clientChannels(SIM_KIND, simulatedClients(seed))
}

/** The channels of `kind` fed by `clients`, one per channel in the same order. */
export function clientChannels(kind: SensorKind, clients: SensorClient[]): ChannelSource[] {
    return kind.channels.map((c, i) => sensorChannel(c, () => clients[i], SAMPLE_MAX_AGE_MS))
}
