/**
 * Command-line parsing for the fieldledger tools, on node:util's parseArgs: one place that
 * turns unknown flags and missing values into a usage error (exit 2) with the command's help.
 */
import { readFileSync } from "node:fs"
import { parseArgs, type ParseArgsConfig } from "node:util"
import { DEVICE_ID_TEXT, isDeviceIdHex } from "../../src/lib/codec/hexids"
import { isGatewayUrl } from "../../src/lib/sync/gatewayurl"

export class UsageError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "UsageError"
    }
}

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>

export interface CommandLine {
    flags: Record<string, string | boolean | undefined>
    positionals: string[]
    /** A string option's value (undefined when absent). */
    string(name: string): string | undefined
    boolean(name: string): boolean
}

/** Edit distance (insertions, deletions, substitutions) between two short strings. */
function editDistance(a: string, b: string): number {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j)
    for (let i = 1; i <= a.length; i++) {
        const next = [i]
        for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
        row = next
    }
    return row[b.length]
}

/** The known option closest to a mistyped one, when it is close enough to be the one meant. */
export function closestOption(given: string, known: string[]): string | undefined {
    const name = given.replace(/^-+/, "").split("=")[0]
    let best: { option: string; distance: number } | undefined
    for (const option of known) {
        const distance = option.startsWith(name) && name.length >= 2 ? 1 : editDistance(name, option)
        if (!best || distance < best.distance) best = { option, distance }
    }
    return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? "--" + best.option : undefined
}

/** node:util's parse errors as one line naming the flag (its own message quotes oddly and says nothing of the fix). */
function usageFromParseError(e: NodeJS.ErrnoException, known: string[]): UsageError {
    const flag = /'(-[^' ]*)/.exec(e.message)?.[1]
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) {
        const hint = closestOption(flag, known)
        return new UsageError("unknown option " + flag + (hint ? "; did you mean " + hint + "?" : ""))
    }
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) {
        if (/argument missing/.test(e.message)) return new UsageError(flag + " needs a value")
        if (/does not take an argument/.test(e.message)) return new UsageError(flag + " takes no value")
    }
    return new UsageError(e.message)
}

export function parseCommandLine(argv: string[], options: OptionSpec): CommandLine {
    let parsed
    const all: OptionSpec = { ...options, help: { type: "boolean", short: "h" } }
    try {
        parsed = parseArgs({ args: argv, options: all, allowPositionals: true, strict: true })
    } catch (e) {
        throw usageFromParseError(e as NodeJS.ErrnoException, Object.keys(all))
    }
    const flags = parsed.values as Record<string, string | boolean | undefined>
    return {
        flags,
        positionals: parsed.positionals,
        string: name => (typeof flags[name] === "string" ? (flags[name] as string) : undefined),
        boolean: name => flags[name] === true,
    }
}

/**
 * A command's line as every fieldledger command takes it: parsed; on --help its `help` printed
 * and undefined returned (the command exits 0); stray arguments refused, unless the command
 * reads them itself (`positionals: "own"`) or lets them pass (`"ignored"`).
 */
export function commandLine(
    argv: string[],
    options: OptionSpec,
    help: string,
    how: { positionals?: "refused" | "own" | "ignored"; out?: (s: string) => void } = {}
): CommandLine | undefined {
    const cli = parseCommandLine(argv, options)
    if (cli.boolean("help")) {
        ;(how.out ?? console.log)(help)
        return undefined
    }
    if ((how.positionals ?? "refused") === "refused" && cli.positionals.length > 0)
        throw new UsageError("unexpected argument " + cli.positionals[0])
    return cli
}

/** The admin token: from `--admin-token-file` when given, else env FL_ADMIN_TOKEN, else none. */
export function readAdminToken(file: string | undefined): string | undefined {
    if (file === undefined) return process.env.FL_ADMIN_TOKEN || undefined
    let token: string
    try {
        token = readFileSync(file, "utf8").trim()
    } catch (e) {
        throw new UsageError("cannot read --admin-token-file: " + (e as Error).message)
    }
    if (!token) throw new UsageError("--admin-token-file " + file + " is empty")
    return token
}

/** The device id option `--NAME` (undefined when absent); anything else is a usage error (src/lib/codec/hexids.ts). */
export function deviceIdOption(cli: CommandLine, name: string): string | undefined {
    const value = cli.string(name)
    if (value !== undefined && !isDeviceIdHex(value)) throw new UsageError("--" + name + " must be " + DEVICE_ID_TEXT)
    return value
}

/** The gateway URL option `--NAME` (undefined when absent); anything else is a usage error (src/lib/sync/gatewayurl.ts). */
export function gatewayOption(cli: CommandLine, name: string): string | undefined {
    const value = cli.string(name)
    if (value !== undefined && !isGatewayUrl(value))
        throw new UsageError("--" + name + " must be a gateway URL, http(s)://host:port, not " + JSON.stringify(value))
    return value
}

/** The TCP port option `--port` (0: any free port). */
export function portOption(cli: CommandLine, fallback: number): number {
    const text = cli.string("port") ?? String(fallback)
    if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError("--port must be 0..65535")
    return Number(text)
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60000, min: 60000, h: 3600000, d: 86400000 }
/** The longest duration an option takes (a year): anything longer is a typo. */
const MAX_DURATION_MS = 365 * 86400000

/**
 * A duration as an operator writes it: a positive number with a unit (`ms`, `s`, `m` or `min`,
 * `h`, `d`: `90s`, `20m`, `1.5h`), or a bare number of minutes (`15`). Undefined when it is not
 * one, or not above zero, or above a year.
 */
export function parseDurationMs(text: string): number | undefined {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?$/.exec(text.trim())
    if (!m) return undefined
    const ms = Math.round(Number(m[1]) * DURATION_UNITS_MS[m[2] ?? "min"])
    return ms > 0 && ms <= MAX_DURATION_MS ? ms : undefined
}

/** The duration option `--NAME` in ms (`fallback` when absent); anything else is a usage error. */
export function durationOption(cli: CommandLine, name: string, fallback: number): number {
    const text = cli.string(name)
    if (text === undefined) return fallback
    const ms = parseDurationMs(text)
    if (ms === undefined)
        throw new UsageError(
            "--" +
                name +
                " must be a duration above zero and at most a year: minutes (15) or a number with a unit (90s, 20m, 2h, 1d); got " +
                JSON.stringify(text)
        )
    return ms
}
