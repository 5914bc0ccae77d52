/**
 * `fieldledger start`: the main job. Runs the firmware in the simulator, verifies every block
 * it seals as it arrives (the Node verifier, under the simulator's public development key),
 * shows progress, and on exit writes the chain as an export file for `fieldledger verify`.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { decodeBlock } from "../src/lib/chain"
import { SIMULATOR_DEV_KEY_HEX } from "../src/lib/devkey"
import { verifyChain } from "../src/lib/verify"
import { parseCommandLine, UsageError } from "./lib/args"
import { nobleCrypto } from "./lib/crypto"
import { BlockLogParser, cleanLine } from "./lib/devicelog"
import { formatExport, parseExport } from "./lib/exportfile"
import { Simulator } from "./lib/simulator"

export const START_HELP = `Usage: fieldledger start [--duration SECONDS] [--export FILE] [--continue] [--device-id HEX] [--verbose]

Runs the fieldledger firmware (src/main.ts) in the DeviceScript simulator with simulated
temperature, humidity and pressure sensors, and verifies every block it seals as it arrives.
The simulator samples once a second and seals a block at least every 30 s. The chain lives in
the simulator's flash (.devicescript/flash/sim.bin): by default it is erased first so every
run starts a new chain; with --continue the device picks up its chain where the last run left
it (a reboot: the checkpointed block, then a power-loss gap record) and the blocks are checked
on top of the previous run's export.

Options:
  --duration SECONDS  stop after this long (default: run until Ctrl-C)
  --export FILE       where to write the chain on exit (default: data/simulated-chain.json)
  --continue          keep the simulator's flash and continue the chain of the last run
  --device-id HEX     the simulated device's id (16 hex digits)
  --verbose           also show the firmware's own console lines
  -h, --help          this help`

/** Where `devs run` keeps the simulated device's flash. */
const SIM_FLASH = ".devicescript/flash/sim.bin"

export async function runStart(argv: string[]): Promise<number> {
    const cli = parseCommandLine(argv, {
        duration: { type: "string" },
        export: { type: "string" },
        "device-id": { type: "string" },
        verbose: { type: "boolean" },
        continue: { type: "boolean" },
    })
    if (cli.boolean("help")) {
        console.log(START_HELP)
        return 0
    }
    const durationText = cli.string("duration")
    const duration = durationText === undefined ? undefined : Number(durationText)
    if (duration !== undefined && !(duration > 0)) throw new UsageError("--duration must be a positive number of seconds")
    const deviceIdArg = cli.string("device-id")
    if (deviceIdArg !== undefined && !/^[0-9a-f]{16}$/.test(deviceIdArg)) throw new UsageError("--device-id must be 16 lowercase hex digits")
    const exportFile = cli.string("export") ?? "data/simulated-chain.json"
    const key0 = Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex")

    const blocks: Buffer[] = []
    let deviceId: Buffer | undefined
    if (cli.boolean("continue")) {
        if (existsSync(exportFile)) {
            const previous = parseExport(readFileSync(exportFile, "utf8"))
            deviceId = previous.deviceId
            blocks.push(...previous.blocks)
            console.log(`continuing the chain of ${deviceId.toString("hex")} from ${exportFile} (${blocks.length} blocks)`)
        }
    } else rmSync(SIM_FLASH, { force: true })
    let failures = 0
    const parser = new BlockLogParser()
    const sim = new Simulator()

    const onBlock = (bytes: Buffer) => {
        const block = decodeBlock(bytes)
        // At boot the device shows its stored backlog again: a block already held is no news.
        if (blocks.some(b => b.equals(bytes))) return
        if (block.genesis) {
            deviceId = block.genesis.deviceId
            blocks.length = 0
            console.log(`device ${deviceId.toString("hex")} started a chain: firmware ${block.genesis.firmware}, channels ${block.genesis.channels.map(c => c.name).join(", ")}`)
        }
        blocks.push(bytes)
        if (!deviceId) return
        const report = verifyChain(nobleCrypto, blocks, { deviceId, key0 })
        const h = block.header
        const what = block.readings ? `${block.readings.length} readings` : block.gap ? "gap record" : "genesis"
        if (report.ok) {
            console.log(`  block ${h.seq}: ${what}, ${bytes.length} B, verified (${report.summary.readings} readings in the chain)`)
        } else {
            failures++
            console.log(`  block ${h.seq}: FAILED verification: ${report.failure!.reason} [${report.failure!.code}]`)
        }
    }

    const finished = new Promise<void>(resolve => {
        const stop = () => resolve()
        process.once("SIGINT", stop)
        process.once("SIGTERM", stop)
        if (duration !== undefined) setTimeout(stop, duration * 1000)
        sim.start({
            program: "src/main.ts",
            deviceId: deviceIdArg,
            onLine: line => {
                const clean = cleanLine(line)
                if (cli.boolean("verbose") && !clean.startsWith("fl:block")) console.log("  [firmware] " + clean)
                else if (clean.startsWith("fl:warning") || clean.startsWith("fl:error")) console.log("  [firmware] " + clean)
                const block = parser.push(line)
                if (block) onBlock(block.bytes)
            },
            onExit: (what, code) => {
                console.log(`the simulator's ${what} process exited (code ${code})`)
                failures++
                resolve()
            },
        }).catch(e => {
            console.error("fieldledger start: " + (e as Error).message)
            failures++
            resolve()
        })
    })
    console.log("fieldledger start: launching the simulator (Ctrl-C to stop)")
    await finished
    sim.stop()
    if (deviceId && blocks.length > 0) {
        mkdirSync(dirname(exportFile), { recursive: true })
        writeFileSync(exportFile, formatExport({ deviceId, blocks }))
        console.log(`wrote ${blocks.length} blocks to ${exportFile}; check it with: npx fieldledger verify ${exportFile} --key ${SIMULATOR_DEV_KEY_HEX}`)
    }
    return failures > 0 ? 1 : 0
}
