/**
 * `fieldledger start`: the main job. Starts the gateway (SQLite under data/), registers the
 * simulated device, runs the firmware in the simulator, and shows live what happens: blocks
 * sealed on the device (each checked by the Node verifier as it appears), batches synced, and
 * what the gateway has verified and stored. On exit it writes the gateway's export of the
 * chain, which `fieldledger verify` checks offline.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { decodeBlock } from "../src/lib/chain"
import { SIMULATOR_DEV_KEY_HEX } from "../src/lib/devkey"
import { verifyChain } from "../src/lib/verify"
import { parseCommandLine, UsageError } from "./lib/args"
import { nobleCrypto } from "./lib/crypto"
import { BlockLogParser, cleanLine } from "./lib/devicelog"
import { Simulator } from "./lib/simulator"
import { loadMasterKey } from "./gateway/keyvault"
import { RunningGateway, startGateway } from "./gateway/server"
import { defaultMasterKeyFile } from "./gateway"

export const START_HELP = `Usage: fieldledger start [--duration SECONDS] [--export FILE] [--continue] [--db PATH] [--port N] [--device-id HEX] [--verbose]

The main job, on this machine: starts the gateway (database data/gateway.db), registers a
simulated device with it, and runs the fieldledger firmware (src/main.ts) in the DeviceScript
simulator with simulated temperature, humidity and pressure sensors. The device samples once a
second, seals a block at least every 30 s and syncs to the gateway every 2 s. Every block is
verified twice as it goes: on this side as the device shows it, and by the gateway on ingest.
Ctrl-C stops everything; the gateway's export of the chain is then written to FILE.

By default each run starts afresh: the simulator's flash (.devicescript/flash/sim.bin) and the
gateway database are erased. With --continue both are kept: the device continues its chain (a
reboot: the checkpointed block, then a power-loss gap record) and the gateway takes it from where
it stopped.

The simulated device seals under the public simulator development key (docs/FORMAT.md): the
chain is verifiable but authenticates nothing. Real devices get their own key from
provisioning.

Options:
  --duration SECONDS  stop after this long (default: run until Ctrl-C)
  --export FILE       where to write the chain on exit (default: data/simulated-chain.json)
  --continue          keep the device's flash and the gateway's database from the last run
  --db PATH           the gateway's database (default: data/gateway.db)
  --port N            the gateway's port (default: 8787, where the simulator syncs by default)
  --device-id HEX     the simulated device's id (16 hex digits, default 5e1f1ed9e0000001)
  --verbose           also show the firmware's own console lines
  -h, --help          this help`

/** Where `devs run` keeps the simulated device's flash. */
const SIM_FLASH = ".devicescript/flash/sim.bin"
const DEFAULT_DEVICE_ID = "5e1f1ed9e0000001"

interface Progress {
    sealed: Buffer[]
    failures: number
}

function describeBlock(bytes: Buffer): string {
    const block = decodeBlock(bytes)
    if (block.readings) return `${block.readings.length} readings`
    if (block.gap) return `gap record (${block.gap.lostReadings} readings lost)`
    return "genesis"
}

export async function runStart(argv: string[]): Promise<number> {
    const cli = parseCommandLine(argv, {
        duration: { type: "string" },
        export: { type: "string" },
        "device-id": { type: "string" },
        db: { type: "string" },
        port: { type: "string" },
        verbose: { type: "boolean" },
        continue: { type: "boolean" },
    })
    if (cli.boolean("help")) {
        console.log(START_HELP)
        return 0
    }
    if (cli.positionals.length > 0) throw new UsageError("unexpected argument " + cli.positionals[0])
    const durationText = cli.string("duration")
    const duration = durationText === undefined ? undefined : Number(durationText)
    if (duration !== undefined && !(duration > 0)) throw new UsageError("--duration must be a positive number of seconds")
    const deviceId = cli.string("device-id") ?? DEFAULT_DEVICE_ID
    if (!/^[0-9a-f]{16}$/.test(deviceId)) throw new UsageError("--device-id must be 16 lowercase hex digits")
    const portText = cli.string("port") ?? "8787"
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw new UsageError("--port must be 1..65535")
    const exportFile = cli.string("export") ?? "data/simulated-chain.json"
    const db = cli.string("db") ?? "data/gateway.db"
    const resume = cli.boolean("continue")

    if (!resume) {
        rmSync(SIM_FLASH, { force: true })
        for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true })
    }
    mkdirSync(dirname(db), { recursive: true })
    const master = loadMasterKey({ envValue: process.env.FL_MASTER_KEY || undefined, defaultFile: defaultMasterKeyFile(db) })
    let gateway: RunningGateway
    try {
        gateway = await startGateway({ db, port: Number(portText), masterKey: master.key })
    } catch (e) {
        const err = e as NodeJS.ErrnoException
        if (err.code === "EADDRINUSE") {
            console.error(`fieldledger start: port ${portText} is in use (another gateway or \`npm start\`?); stop it or pass --port`)
            return 1
        }
        throw e
    }
    console.log(`gateway: ${gateway.url} (database ${db}); API in docs/API.md`)
    console.log(`dashboard: ${gateway.url}/ (open it in a browser: the fleet, the device's plots and chain, live)`)
    if (!gateway.service.store.device(deviceId)) {
        gateway.service.register({ deviceId, key0: SIMULATOR_DEV_KEY_HEX, label: "simulated device" })
        console.log(`gateway: registered device ${deviceId} under the public simulator development key`)
    }

    const progress: Progress = { sealed: [], failures: 0 }
    if (resume) {
        const exported = JSON.parse(gateway.service.exportChain(deviceId)) as { blocks: string[] }
        progress.sealed.push(...exported.blocks.map(h => Buffer.from(h, "hex")))
        if (progress.sealed.length > 0) console.log(`continuing device ${deviceId}'s chain: the gateway holds ${progress.sealed.length} blocks`)
    }
    const key0 = Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex")
    const id = Buffer.from(deviceId, "hex")

    const onBlock = (bytes: Buffer) => {
        const seq = decodeBlock(bytes).header.seq
        // At boot the device shows its stored backlog again: a block already seen is no news.
        if (progress.sealed.some(b => b.equals(bytes))) return
        if (seq === 0) progress.sealed.length = 0
        progress.sealed.push(bytes)
        const report = verifyChain(nobleCrypto, progress.sealed, { deviceId: id, key0 })
        if (report.ok) console.log(`  sealed   block ${seq}: ${describeBlock(bytes)}, ${bytes.length} B, verified on arrival`)
        else {
            progress.failures++
            console.log(`  sealed   block ${seq}: FAILED verification: ${report.failure!.reason} [${report.failure!.code}]`)
        }
    }

    const onSync = (line: string) => {
        const d = gateway.service.store.device(deviceId)
        const held = d && d.headSeq >= 0 ? `gateway holds seq 0..${d.headSeq}, ${d.readings} readings stored` : "gateway holds nothing yet"
        const outcome = /^fl:sync (\w+) sent=(\d+)(?: ack=(-?\d+))?(?: backlog=(\d+))?(?: error=(.*))?$/.exec(line)
        if (!outcome) return
        const [, what, sent, , backlog, error] = outcome
        if (what === "synced") console.log(`  synced   ${sent} block(s); ${held}; device backlog ${backlog}`)
        else console.log(`  sync ${what}: ${error ?? ""} (${sent} block(s) not taken; the device retries with backoff)`)
    }

    const sim = new Simulator()
    const parser = new BlockLogParser()
    const finished = new Promise<void>(resolve => {
        const stop = () => resolve()
        process.once("SIGINT", stop)
        process.once("SIGTERM", stop)
        if (duration !== undefined) setTimeout(stop, duration * 1000)
        sim.start({
            program: "src/main.ts",
            deviceId,
            onWait: message => console.log("simulator: " + message),
            onLine: line => {
                const clean = cleanLine(line)
                if (clean.startsWith("fl:sync ")) onSync(clean)
                if (cli.boolean("verbose") && !clean.startsWith("fl:block")) console.log("  [firmware] " + clean)
                else if (clean.startsWith("fl:warning") || clean.startsWith("fl:error") || clean.startsWith("fl:fault")) console.log("  [firmware] " + clean)
                const block = parser.push(line)
                if (block) onBlock(block.bytes)
            },
            onExit: (what, code) => {
                console.log(`the simulator's ${what} process exited (code ${code})`)
                progress.failures++
                resolve()
            },
        }).catch(e => {
            console.error("fieldledger start: " + (e as Error).message)
            progress.failures++
            resolve()
        })
    })
    console.log(`simulator: starting device ${deviceId} (Ctrl-C to stop)`)
    await finished
    sim.stop()

    const d = gateway.service.store.device(deviceId)
    if (d && d.headSeq >= 0) {
        mkdirSync(dirname(exportFile), { recursive: true })
        writeFileSync(exportFile, gateway.service.exportChain(deviceId))
        console.log(`the gateway verified and stored ${d.blockCount} blocks (${d.readings} readings, ${d.gapRecords} gap records, ${d.events} security events)`)
        console.log(`wrote its export to ${exportFile}; check it offline with: npx fieldledger verify ${exportFile} --key ${SIMULATOR_DEV_KEY_HEX}`)
    } else console.log("the gateway stored nothing from the device in this run")
    await gateway.close()
    return progress.failures > 0 ? 1 : 0
}
