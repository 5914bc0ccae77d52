/**
 * Command-line parsing for the fieldledger tools, on node:util's parseArgs: one place that
 * turns unknown flags and missing values into a usage error (exit 2) with the command's help.
 */
import { parseArgs, type ParseArgsConfig } from "node:util"

export class UsageError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "UsageError"
    }
}

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>

export function parseCommandLine(argv: string[], options: OptionSpec) {
    try {
        return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true })
    } catch (e) {
        throw new UsageError((e as Error).message)
    }
}
