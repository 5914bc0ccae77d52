/**
 * The fieldledger command line: one subcommand per tool. Usage errors exit 2 with a message
 * and a pointer to --help (with --json: one JSON object on stdout); everything else a subcommand returns is its own exit status.
 */
import { UsageError } from "./lib/args"

const HELP = `Usage: fieldledger COMMAND [options]

Commands:
  start     run the main job: simulated device(s) sealing blocks, verified live
  verify    verify an export file offline (fieldledger verify --help)
  audit     audit a gateway's transparency log (fieldledger audit --help)
  bench     run the benchmarks (fieldledger bench --help)
  gateway   serve the HTTP API devices sync to (fieldledger gateway --help)
  powercut  kill the simulated device at random instants and check the chain it leaves
  provision give a device its key and configuration over USB, register it (--help)
  register  upload registrations provision saved while the gateway was unreachable
  devices   list the devices on the USB bus (or the simulator's with --sim)
  bridge    sync a device without a network (FL_GATEWAY=usb) to the gateway over USB

Run fieldledger COMMAND --help for a command's options.`

type Command = (argv: string[]) => Promise<number>

const COMMANDS: Record<string, () => Promise<Command>> = {
    verify: async () => (await import("./verify")).runVerify,
    audit: async () => (await import("./audit")).runAuditCommand,
    bench: async () => (await import("./bench/index")).main,
    start: async () => (await import("./start")).runStart,
    powercut: async () => (await import("./powercut")).runPowercut,
    gateway: async () => (await import("./gateway")).runGateway,
    provision: async () => (await import("./provision")).runProvision,
    register: async () => (await import("./provision")).runRegister,
    devices: async () => (await import("./provision")).runDevices,
    bridge: async () => (await import("./bridge")).runBridge,
}

export async function main(argv: string[]): Promise<number> {
    const [name, ...rest] = argv
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
        console.log(HELP)
        return name === undefined ? 2 : 0
    }
    const load = COMMANDS[name]
    if (!load) {
        console.error("fieldledger: unknown command '" + name + "'\n\n" + HELP)
        return 2
    }
    try {
        return await (
            await load()
        )(rest)
    } catch (e) {
        if (e instanceof UsageError) {
            const hint = "run 'fieldledger " + name + " --help' for usage"
            // A script that asked for JSON gets one JSON object, also for a usage error.
            if (rest.includes("--json")) console.log(JSON.stringify({ ok: false, error: "usage", message: e.message, hint }))
            else console.error("fieldledger " + name + ": " + e.message + "\n" + hint[0].toUpperCase() + hint.slice(1) + ".")
            return 2
        }
        throw e
    }
}
