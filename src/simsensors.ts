/**
 * Simulated temperature, humidity and pressure sensors served inside the program, so the
 * WASM simulator (which has no I2C) gives the firmware the same Jacdac clients as a board.
 */
import * as ds from "@devicescript/core"
import { SensorServer, startServer } from "@devicescript/server"
import { RandomWalk } from "./lib/randomwalk"
import { ChannelSource } from "./sensors"

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
    const temperature = new ds.Temperature(serve(ds.Temperature.spec, new RandomWalk(seed, 21, 0.05, -10, 45), "simTemperature"))
    const humidity = new ds.Humidity(serve(ds.Humidity.spec, new RandomWalk(seed + 1, 45, 0.2, 5, 95), "simHumidity"))
    const pressure = new ds.AirPressure(serve(ds.AirPressure.spec, new RandomWalk(seed + 2, 1013, 0.05, 950, 1050), "simPressure"))
    return [
        { spec: { name: "temperature", unit: "degC", exponent: -2 }, read: async () => await temperature.reading.read() },
        { spec: { name: "humidity", unit: "%RH", exponent: -2 }, read: async () => await humidity.reading.read() },
        { spec: { name: "pressure", unit: "hPa", exponent: -1 }, read: async () => await pressure.reading.read() },
    ]
}
