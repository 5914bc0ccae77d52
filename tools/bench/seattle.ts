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

/**
 * The daily real weather of Seattle 2012-2015 (vega-datasets `seattle-weather.csv`, 1,461 days):
 * precipitation (mm), temp_max, temp_min (degC) and wind (m/s), each at 0.1. Rougher than the
 * hourly normals: precipitation is zero most days and sometimes large.
 */
export const SEATTLE_DAILY_CHANNELS: ChannelSpec[] = [
    { name: "precipitation", unit: "mm", exponent: -1 },
    { name: "temp_max", unit: "degC", exponent: -1 },
    { name: "temp_min", unit: "degC", exponent: -1 },
    { name: "wind", unit: "m/s", exponent: -1 },
]
export const SEATTLE_DAILY_INTERVAL_MS = 24 * 3600 * 1000
const DAILY_COLUMNS = "date,precipitation,temp_max,temp_min,wind"

export interface SeattleDaily {
    rows: SeattleRow[]
    /** The CSV rows of the columns the chain carries, header line excluded: with the date, and without it. */
    csvWithDate: string
    csvWithoutDate: string
}

export function loadSeattleDaily(
    path = seattleCsvPath().replace("seattle-weather-hourly-normals.csv", "seattle-weather.csv")
): SeattleDaily {
    const lines = readFileSync(path, "utf8").trim().split("\n")
    if (!lines[0].trim().startsWith(DAILY_COLUMNS)) throw new Error(path + ": unexpected header " + lines[0])
    const withDate: string[] = []
    const withoutDate: string[] = []
    const rows = lines.slice(1).map((line, i) => {
        const [date, ...fields] = line.trim().split(",").slice(0, 5)
        const unixTime = Date.parse(date + "T00:00:00Z") / 1000
        const values = fields.map(f => Math.round(Number(f) * 10))
        if (!Number.isFinite(unixTime) || values.length !== 4 || values.some(v => !Number.isSafeInteger(v)))
            throw new Error(path + ":" + (i + 2) + ": not a row of a date and four numbers: " + line)
        withDate.push([date, ...fields].join(","))
        withoutDate.push(fields.join(","))
        return { unixTime, values }
    })
    return { rows, csvWithDate: withDate.join("\n") + "\n", csvWithoutDate: withoutDate.join("\n") + "\n" }
}
