/** Channel sources for device tests: deterministic values, and ones that fail on purpose. */
import { ChannelSource } from "../../../src/sensors"

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
