/**
 * `fieldledger bench` (`npm run bench`): every benchmark section, a table each for people, or
 * with --json one JSON object of all figures for scripts. Ratios are against baselines
 * measured in the same run, never against numbers from elsewhere.
 */
import { commandLine, UsageError } from "../lib/args"
import { checkpoints } from "./checkpoints"
import { compactness } from "./compactness"
import { deviceOverhead } from "./deviceoverhead"
import { endurance } from "./endurance"
import { gateway } from "./gateway"
import { gatewayLimits } from "./gatewaylimits"
import { fleet } from "./fleetsection"
import { tlog } from "./tlog"
import { signing } from "./signing"
import type { BenchSection } from "./section"

export const SECTIONS: BenchSection[] = [compactness, endurance, gateway, gatewayLimits, fleet, tlog, deviceOverhead, checkpoints, signing]

export const BENCH_HELP = `Usage: fieldledger bench [--json] [--quick] [--only NAME]

Runs the benchmarks and prints their figures. Sections:
${SECTIONS.map(s => "  " + s.name.padEnd(14) + s.description).join("\n")}

Options:
  --json       print one JSON object with every figure (and nothing else) on stdout
  --quick      smaller sizes where a section has them (the limits section: a 20,000-block
               export instead of 1,000,000, 200 sync requests instead of 1,000)
  --only NAME  run one section
  --skip NAME  run every section but this one
  -h, --help   this help`

export async function main(argv: string[]): Promise<number> {
    const cli = commandLine(
        argv,
        {
            json: { type: "boolean" },
            quick: { type: "boolean" },
            only: { type: "string" },
            skip: { type: "string" },
        },
        BENCH_HELP
    )
    if (!cli) return 0
    const only = cli.string("only")
    const skip = cli.string("skip")
    for (const name of [only, skip])
        if (name !== undefined && !SECTIONS.some(s => s.name === name))
            throw new UsageError("no section named " + name + " (sections: " + SECTIONS.map(s => s.name).join(", ") + ")")
    const sections = SECTIONS.filter(s => (!only || s.name === only) && s.name !== skip)
    const json = cli.boolean("json")
    const figures: Record<string, number> = {}
    for (const section of sections) {
        process.stderr.write(`bench: ${section.name}...\n`)
        // The firmware code a section runs logs to the console; with --json, stdout carries
        // only the JSON object, so those lines go to stderr.
        const log = console.log
        if (json) console.log = (...args: unknown[]) => console.error(...args)
        let result
        try {
            result = await section.run({ quick: cli.boolean("quick") })
        } finally {
            console.log = log
        }
        Object.assign(figures, result.figures)
        if (!json) console.log(`\n${section.name}: ${section.description}\n${result.lines.join("\n")}`)
    }
    if (json) console.log(JSON.stringify(figures))
    return 0
}
