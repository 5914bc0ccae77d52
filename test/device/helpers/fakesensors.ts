/** Channel sources and sensor servers for device tests: deterministic values, and ones that fail on purpose. */
import * as ds from "@devicescript/core"
import { SensorServer, startServer } from "@devicescript/server"
import { ChannelSource } from "../../../src/sensing/sensors"

/** A channel that counts up by `step` per read: every value known in advance. */
export function countingChannel(name: string, start: number, step: number): ChannelSource {
    let value = start
    return {
        spec: { name, unit: "u", exponent: 0 },
        read: async () => {
            const v = value
            value += step
            return v
        },
    }
}

/** A channel whose sensor throws on every read: every value must come out MISSING. */
export function brokenChannel(name: string): ChannelSource {
    return {
        spec: { name, unit: "u", exponent: 0 },
        read: async () => {
            throw new Error("sensor " + name + " not responding")
        },
    }
}

/**
 * A Jacdac sensor server whose every sample comes from `script(n)` (n counts samples from 0).
 * `unplug()` stops it answering (no more samples, as when a sensor drops off the bus) and
 * `plugIn()` brings it back. It never throws: an exception in a server handler is
 * unhandled and the runtime restarts the whole program (see docs/BOARDS.md).
 */
export class ScriptedSensorServer extends SensorServer {
    samples = 0
    plugged = true

    constructor(
        spec: ds.ServiceSpec,
        private readonly script: (n: number) => number
    ) {
        super(spec, { interval: 100 })
    }

    async reading(): Promise<number> {
        // Unplugged: the sample never comes (as an I2C read that hangs), so nothing streams.
        while (!this.plugged) await ds.sleep(50)
        return this.script(this.samples++)
    }

    unplug() {
        this.plugged = false
    }

    plugIn() {
        this.plugged = true
    }
}

/** Starts `server` under `roleName` and returns a temperature client bound to it. */
export function serveTemperature(server: ScriptedSensorServer, roleName: string): ds.Temperature {
    return new ds.Temperature(startServer(server, { roleName }))
}

/** A channel that throws on the reads `failing(n)` picks (n counts reads from 0). */
export function flakyChannel(name: string, failing: (n: number) => boolean): ChannelSource {
    let n = 0
    return {
        spec: { name, unit: "u", exponent: 0 },
        read: async () => {
            const i = n++
            if (failing(i)) throw new Error("i2c transaction failed")
            return 100 + i
        },
    }
}
