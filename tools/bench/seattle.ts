/**
 * The benchmark data set: hourly weather normals for Seattle from the npm package
 * vega-datasets (8,759 readings of pressure, temperature and wind), as fixed-point integers.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type { ChannelSpec } from "../../src/lib/codec/format"

export const SEATTLE_CHANNELS: ChannelSpec[] = [
    { name: "pressure", unit: "hPa", exponent: -1 },
    { name: "temperature", unit: "degC", exponent: -1 },
    { name: "wind", unit: "m/s", exponent: -1 },
]
export const SEATTLE_INTERVAL_MS = 3600 * 1000

export interface SeattleRow {
    unixTime: number
    /** pressure, temperature, wind in tenths of hPa, degC and m/s */
    values: number[]
}

export function seattleCsvPath(): string {
    // The package exports only its JS entry (build/index.js); its data folder sits beside build/.
    const require = createRequire(import.meta.url)
    return join(dirname(require.resolve("vega-datasets")), "..", "data", "seattle-weather-hourly-normals.csv")
}

export function loadSeattle(path = seattleCsvPath()): SeattleRow[] {
    const lines = readFileSync(path, "utf8").trim().split("\n")
    if (lines[0].trim() !== "date,pressure,temperature,wind") throw new Error(path + ": unexpected header " + lines[0])
    return lines.slice(1).map((line, i) => {
        const [date, ...fields] = line.trim().split(",")
        const unixTime = Date.parse(date + "Z") / 1000
        const values = fields.map(f => Math.round(Number(f) * 10))
        if (!Number.isFinite(unixTime) || values.length !== 3 || values.some(v => !Number.isSafeInteger(v)))
            throw new Error(path + ":" + (i + 2) + ": not a row of date and three numbers: " + line)
        return { unixTime, values }
    })
}
