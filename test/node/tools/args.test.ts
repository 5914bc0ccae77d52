/** Option values the commands share (tools/lib/args.ts): durations. */
import { describe, expect, test } from "vitest"
import { durationOption, parseCommandLine, parseDurationMs, UsageError } from "../../../tools/lib/args"

describe("parseDurationMs", () => {
    test.each([
        ["15", 15 * 60000],
        ["90s", 90000],
        ["20m", 20 * 60000],
        ["20min", 20 * 60000],
        ["2h", 7200000],
        ["1.5h", 5400000],
        ["1d", 86400000],
        ["500ms", 500],
        [" 30 min ", 30 * 60000],
        ["365d", 365 * 86400000],
    ])("%j is %d ms", (text, ms) => {
        expect(parseDurationMs(text)).toBe(ms)
    })

    test.each(["", "0", "0s", "-5", "abc", "15 minutes", "1e3", "2h30m", "1w", ".5h", "366d", "0.0001ms"])("%j is not a duration", text => {
        expect(parseDurationMs(text)).toBeUndefined()
    })
})

describe("durationOption", () => {
    test("the fallback when absent, the value when given, a usage error naming the option otherwise", () => {
        expect(durationOption(parseCommandLine([], { "stale-after": { type: "string" } }), "stale-after", 42)).toBe(42)
        expect(durationOption(parseCommandLine(["--stale-after", "2h"], { "stale-after": { type: "string" } }), "stale-after", 42)).toBe(7200000)
        const bad = () => durationOption(parseCommandLine(["--stale-after", "soon"], { "stale-after": { type: "string" } }), "stale-after", 42)
        expect(bad).toThrow(UsageError)
        expect(bad).toThrow(/--stale-after must be a duration .*"soon"/)
    })
})
