/**
 * Simulated temperature, humidity and pressure sensors for the WASM simulator (which has no
 * I2C): channel sources that read a random walk each, the "sim" sensor kind's channels, ranges
 * and fault rules (src/lib/sensors/sensorkinds.ts) applied by the sampler as for a board.
 *
 * They were Jacdac sensor servers inside the program read through their clients; reading the
 * walk directly keeps @devicescript/server's code (about 2.5 KB of function code) out of the
 * firmware, where the 64 KB function budget pays for the signer (docs/DEVICESCRIPT.md).
 */
import { RandomWalk } from "../lib/sensors/randomwalk"
import { ChannelHealth, SIM_KIND } from "../lib/sensors/sensorkinds"
import { ChannelSource } from "./sensors"

/** How old a streamed sample of a simulated chip sensor (src/sensing/drivers.ts) may be before its channel counts it as missing. */
export const SAMPLE_MAX_AGE_MS = 5000

/** The "sim" kind's channels (temperature, humidity, pressure), each a random walk from `seed`. */
export function startSimulatedSensors(seed: number): ChannelSource[] {
    const walks = [
        new RandomWalk(seed, 21, 0.05, -10, 45),
        new RandomWalk(seed + 1, 45, 0.2, 5, 95),
        new RandomWalk(seed + 2, 1013, 0.05, 950, 1050),
    ]
    return SIM_KIND.channels.map((c, i) => ({ spec: c.spec, health: new ChannelHealth(c), read: async () => walks[i].next() }))
}
