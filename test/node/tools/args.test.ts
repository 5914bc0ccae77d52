/** Option values the commands share (tools/lib/args.ts): durations; the line every command parses. */
import { spawnSync } from "node:child_process"
import { describe, expect, test } from "vitest"
import { commandLine, durationOption, parseCommandLine, parseDurationMs, UsageError } from "../../../tools/lib/args"

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
        expect(durationOption(parseCommandLine(["--stale-after", "2h"], { "stale-after": { type: "string" } }), "stale-after", 42)).toBe(
            7200000
        )
        const bad = () =>
            durationOption(parseCommandLine(["--stale-after", "soon"], { "stale-after": { type: "string" } }), "stale-after", 42)
        expect(bad).toThrow(UsageError)
        expect(bad).toThrow(/--stale-after must be a duration .*"soon"/)
    })
})

describe("commandLine", () => {
    const options = { json: { type: "boolean" } } as const

    test("--help prints the help and gives no command line (the command exits 0)", () => {
        const printed: string[] = []
        expect(commandLine(["--json", "-h"], options, "Usage: x", { out: s => printed.push(s) })).toBeUndefined()
        expect(printed).toEqual(["Usage: x"])
    })

    test("a stray argument is a usage error unless the command reads or ignores its arguments", () => {
        expect(() => commandLine(["--json", "extra"], options, "Usage: x")).toThrow(new UsageError("unexpected argument extra"))
        expect(commandLine(["extra", "--json"], options, "Usage: x", { positionals: "own" })?.positionals).toEqual(["extra"])
        expect(commandLine(["extra"], options, "Usage: x", { positionals: "ignored" })?.boolean("json")).toBe(false)
        expect(commandLine(["--json"], options, "Usage: x")?.boolean("json")).toBe(true)
    })
})

describe("usage errors", () => {
    const options = { gateway: { type: "string" }, force: { type: "boolean" }, "admin-token-file": { type: "string" } } as const
    const message = (argv: string[]) => {
        try {
            parseCommandLine(argv, options)
        } catch (e) {
            expect(e).toBeInstanceOf(UsageError)
            return (e as Error).message
        }
        throw new Error("no usage error for " + argv.join(" "))
    }

    test("an unknown option is named, without Node's quoting, with the closest known one", () => {
        expect(message(["--gatway", "x"])).toBe("unknown option --gatway; did you mean --gateway?")
        expect(message(["--admin-token", "f"])).toBe("unknown option --admin-token; did you mean --admin-token-file?")
        expect(message(["--frobnicate"])).toBe("unknown option --frobnicate")
        expect(message(["-x"])).toBe("unknown option -x")
    })

    test("a missing value and a value given to a flag say so", () => {
        expect(message(["--gateway"])).toBe("--gateway needs a value")
        expect(message(["--force=yes"])).toBe("--force takes no value")
    })
})

describe("the fieldledger command on a usage error", () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ["bin/fieldledger.mjs", ...args], { encoding: "utf8" })

    test("exits 2 naming the flag and the command's help", () => {
        const r = run("provision", "--gatway", "http://x")
        expect(r.status).toBe(2)
        expect(r.stderr).toBe(
            "fieldledger provision: unknown option --gatway; did you mean --gateway?\nRun 'fieldledger provision --help' for usage.\n"
        )
    })

    test("with --json prints one JSON object on stdout", () => {
        const r = run("provision", "--gatway", "http://x", "--json")
        expect(r.status).toBe(2)
        expect(JSON.parse(r.stdout)).toEqual({
            ok: false,
            error: "usage",
            message: "unknown option --gatway; did you mean --gateway?",
            hint: "run 'fieldledger provision --help' for usage",
        })
    })

    test.each(["start", "verify", "audit", "bench", "gateway", "powercut", "provision", "register", "devices", "bridge"])(
        "%s has --help",
        command => {
            const r = run(command, "--help")
            expect(r.status).toBe(0)
            expect(r.stdout).toMatch(/^Usage: /)
        }
    )
})
