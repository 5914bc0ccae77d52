/**
 * `fieldledger start`: the main job. Starts the gateway (SQLite under data/), runs the firmware
 * in the simulator, provisions the simulated device over the devtools bus as `fieldledger
 * provision --sim` does (configuration, a fresh K_0, a new chain under it, registration with the
 * gateway in this process), and shows live what happens: blocks sealed on the device (each
 * checked by the Node verifier as it appears), batches synced, and what the gateway has verified
 * and stored. On exit it writes the gateway's export of the chain, which `fieldledger verify`
 * checks offline with the key file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { isKeyHex, parseKeyHex } from "../src/lib/codec/hexids"
import { FL_GATEWAY } from "../src/lib/config/settings"
import { decodeBlock } from "../src/lib/ledger/chain"
import { SIMULATOR_DEV_KEY_HEX } from "../src/lib/ledger/devkey"
import { verifyChain } from "../src/lib/ledger/verify"
import { deviceIdOption, parseCommandLine, portOption, UsageError } from "./lib/args"
import { nobleCrypto } from "./lib/crypto"
import { BlockLogParser, cleanLine } from "./lib/devicelog"
import { BusDevice, BusError, FieldBus, openBus } from "./lib/jacdacbus"
import { markProvisioned, newKey0, ProvisionError, readDeviceState, startChainOnDevice, writeConfig } from "./lib/provisioning"
import { Simulator } from "./lib/simulator"
import { loadMasterKey } from "./gateway/keyvault"
import { RunningGateway, startGateway } from "./gateway/server"
import { succeed } from "./gateway/succession"
import { defaultMasterKeyFile } from "./gateway"
import { pickDevice } from "./provision"

export const START_HELP = `Usage: fieldledger start [--duration SECONDS] [--export FILE] [--key-file FILE] [--continue] [--db PATH] [--port N] [--device-id HEX] [--verbose]

The main job, on this machine: starts the gateway (database data/gateway.db), runs the
fieldledger firmware (src/main.ts) in the DeviceScript simulator with simulated temperature,
humidity and pressure sensors, and provisions the simulated device over the simulator's
devtools bus as 'fieldledger provision --sim' does: its configuration (FL_GATEWAY = this
gateway), a fresh random key K_0 from which it seals a new chain, and the registration of the
device and K_0 with the gateway. K_0 goes to the key file (mode 0600), never to the terminal.
The device samples once a second, seals a block at least every 30 s and syncs to the gateway
every 2 s. Every block of the provisioned chain is verified twice as it goes: on this side as
the device shows it, and by the gateway on ingest. Ctrl-C stops everything; the gateway's
export of the chain is then written to FILE, for 'fieldledger verify FILE --key-file KEY'.

The device boots first under the public simulator development key (docs/FORMAT.md) and seals
a genesis block under it; provisioning starts a successor chain, its genesis linked to that
head. The development-key blocks authenticate nothing and never reach the gateway.

By default each run starts afresh: the simulator's flash (.devicescript/flash/sim.bin), the
gateway database and the key file are erased, and the device is provisioned anew. With
--continue all three are kept and a provisioned device is not provisioned again: it continues
its chain (a reboot: the checkpointed block, then a power-loss gap record) and the gateway
takes it from where it stopped.

Options:
  --duration SECONDS  stop this long after the device starts (default: run until Ctrl-C)
  --export FILE       where to write the chain on exit (default: data/simulated-chain.json)
  --key-file FILE     where the device's K_0 is kept (default: data/simulated-device.key)
  --continue          keep the device's flash, the gateway's database and the key file
  --db PATH           the gateway's database (default: data/gateway.db)
  --port N            the gateway's port (default: 8787; 0: any free port); the device is
                      configured to sync there
  --device-id HEX     the simulated device's id (16 hex digits, default 5e1f1ed9e0000001)
  --verbose           also show the firmware's own console lines
  -h, --help          this help`

const DEFAULT_DEVICE_ID = "5e1f1ed9e0000001"
const DEV_KEY = Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex")

interface Progress {
    sealed: Buffer[]
    failures: number
}

function describeBlock(bytes: Buffer): string {
    const block = decodeBlock(bytes)
    if (block.readings) return `${block.readings.length} readings`
    if (block.gap) return `gap record (${block.gap.lostReadings} readings lost)`
    return block.header.link.some(b => b !== 0) ? `genesis (successor of head ${block.header.link.toString("hex").slice(0, 16)})` : "genesis"
}

/** Writes K_0 as 64 hex digits, mode 0600, whole (temp file, then rename). */
function writeKeyFile(path: string, key0: Buffer) {
    mkdirSync(dirname(path), { recursive: true })
    const tmp = path + ".tmp"
    writeFileSync(tmp, key0.toString("hex") + "\n", { mode: 0o600 })
    chmodSync(tmp, 0o600)
    renameSync(tmp, path)
}

function readKeyFile(path: string): Buffer | undefined {
    if (!existsSync(path)) return undefined
    const text = readFileSync(path, "utf8").trim()
    return isKeyHex(text) ? parseKeyHex(text, path) : undefined
}

/** Whether a genesis block is tagged under key0. */
function genesisUnder(key0: Buffer, deviceId: Buffer, bytes: Buffer): boolean {
    return verifyChain(nobleCrypto, [bytes], { deviceId, key0 }).ok
}

/** The device on the bus once it answers as fieldledger (its registers may lag its boot). */
async function findDevice(bus: FieldBus, deviceId: string): Promise<BusDevice> {
    const deadline = Date.now() + 20000
    for (;;) {
        try {
            return await pickDevice(bus, deviceId)
        } catch (e) {
            if (!(e instanceof ProvisionError) || Date.now() > deadline) throw e
            await new Promise(r => setTimeout(r, 1000))
        }
    }
}

interface BringUp {
    gateway: RunningGateway
    deviceId: string
    keyFile: string
    resume: boolean
    verbose: boolean
    say(line: string): void
    /** The key the device is about to start its chain under (before the program restarts). */
    onKey(key0: Buffer): void
    /** Called with the bus once it is open, so that a stop can close it. */
    onBus(bus: FieldBus): void
}

/**
 * Provisions the simulated device over the devtools bus with the library code of `fieldledger
 * provision --sim`, or with --continue adopts a device already provisioned (K_0 from the key
 * file). Returns when the gateway knows the device under the key its chain is sealed under.
 */
async function bringUpDevice(o: BringUp): Promise<void> {
    const { gateway, deviceId, say } = o
    const bus = await openBus({ sim: true, verbose: o.verbose })
    o.onBus(bus)
    try {
        const device = await findDevice(bus, deviceId)
        const state = await readDeviceState(device.settings, nobleCrypto, deviceId)
        const known = gateway.service.store.device(deviceId)
        if (o.resume && state.provisioned) {
            const key0 = readKeyFile(o.keyFile)
            if (!key0)
                throw new ProvisionError("no-key-file", `device ${deviceId} is provisioned but ${o.keyFile} does not hold its key`, "run without --continue to start afresh")
            o.onKey(key0)
            if (state.config[FL_GATEWAY.key] !== gateway.url) {
                await writeConfig(device.settings, { gatewayUrl: gateway.url })
                await device.restartProgram()
                say(`device ${deviceId}: now syncing to ${gateway.url} (program restarted)`)
            }
            if (!known) {
                gateway.service.register({ deviceId, key0: key0.toString("hex"), label: "simulated device" })
                say(`gateway: registered device ${deviceId} under its key from ${o.keyFile}`)
            }
            say(`device ${deviceId} is provisioned: its chain continues under the key in ${o.keyFile}`)
            return
        }
        say(`provisioning device ${deviceId} over the devtools bus: configuration, then a new chain under a fresh key`)
        const written = await writeConfig(device.settings, { gatewayUrl: gateway.url })
        say("  configuration written and read back: " + Object.entries(written).map(([k, v]) => k + "=" + JSON.stringify(v)).join(" "))
        const key0 = newKey0()
        // On disk before the device has it: a stop midway never leaves a chain under a lost key.
        writeKeyFile(o.keyFile, key0)
        o.onKey(key0)
        const proof = await startChainOnDevice({ settings: device.settings, crypto: nobleCrypto, deviceId, key0, restartProgram: () => device.restartProgram() })
        await markProvisioned(device.settings, Math.floor(Date.now() / 1000))
        const successor = /^0+$/.test(proof.link) ? "" : ` (successor of head ${proof.link.slice(0, 16)})`
        say(`  the device sealed a new genesis block under the new key${successor} and deleted the key; marked provisioned`)
        if (known) {
            // A database kept with --continue holds the device's earlier chain: key succession.
            const r = succeed(gateway.service, deviceId, { key0: key0.toString("hex"), genesis: proof.genesis })
            say(`  gateway: chain ${r.closedChain} closed (head seq ${r.closedHead.seq}); the new chain succeeds it`)
        } else {
            gateway.service.register({ deviceId, key0: key0.toString("hex"), label: "simulated device" })
            say(`  gateway: registered device ${deviceId} with the new key (kept in ${o.keyFile}, mode 0600)`)
        }
    } finally {
        await bus.close()
    }
}

export async function runStart(argv: string[]): Promise<number> {
    const cli = parseCommandLine(argv, {
        duration: { type: "string" },
        export: { type: "string" },
        "key-file": { type: "string" },
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
    const deviceId = deviceIdOption(cli, "device-id") ?? DEFAULT_DEVICE_ID
    const port = portOption(cli, 8787)
    const exportFile = cli.string("export") ?? "data/simulated-chain.json"
    const keyFile = cli.string("key-file") ?? "data/simulated-device.key"
    const db = cli.string("db") ?? "data/gateway.db"
    const resume = cli.boolean("continue")
    const verbose = cli.boolean("verbose")

    if (!resume) {
        rmSync(keyFile, { force: true })
        for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true })
    }
    mkdirSync(dirname(db), { recursive: true })
    const master = loadMasterKey({ envValue: process.env.FL_MASTER_KEY || undefined, defaultFile: defaultMasterKeyFile(db) })
    let gateway: RunningGateway
    try {
        gateway = await startGateway({ db, port, masterKey: master.key })
    } catch (e) {
        const err = e as NodeJS.ErrnoException
        if (err.code === "EADDRINUSE") {
            console.error(`fieldledger start: port ${port} is in use (another gateway or \`npm start\`?); stop it or pass --port`)
            return 1
        }
        throw e
    }
    console.log(`gateway: ${gateway.url} (database ${db}); API in docs/API.md`)
    console.log(`dashboard: ${gateway.url}/ (open it in a browser: the fleet, the device's plots and chain, live)`)

    const id = Buffer.from(deviceId, "hex")
    /** The provisioned K_0 once known (with --continue: the key file's). */
    let key0: Buffer | undefined = resume ? readKeyFile(keyFile) : undefined
    /**
     * The key a chain is checked under, from its genesis: under the development key it is the
     * device before provisioning; any other is checked under K_0 (and fails if under neither).
     */
    const keyFor = (genesis: Buffer): Buffer => (key0 && (genesisUnder(key0, id, genesis) || !genesisUnder(DEV_KEY, id, genesis)) ? key0 : DEV_KEY)
    const progress: Progress = { sealed: [], failures: 0 }
    /** Until the gateway knows the device its syncs are refused: not news. */
    let registered = false
    if (resume && gateway.service.store.device(deviceId)) {
        registered = true
        const exported = JSON.parse(gateway.service.exportChain(deviceId)) as { blocks: string[] }
        progress.sealed.push(...exported.blocks.map(h => Buffer.from(h, "hex")))
        if (progress.sealed.length > 0) console.log(`continuing device ${deviceId}'s chain: the gateway holds ${progress.sealed.length} blocks`)
    }
    /** The key the chain on show is checked under. */
    let chainKey: Buffer = progress.sealed.length > 0 ? keyFor(progress.sealed[0]) : (key0 ?? DEV_KEY)

    const onBlock = (bytes: Buffer) => {
        const seq = decodeBlock(bytes).header.seq
        // At boot the device shows its stored backlog again: a block already seen is no news.
        if (progress.sealed.some(b => b.equals(bytes))) return
        if (seq === 0) {
            progress.sealed.length = 0
            chainKey = keyFor(bytes)
        }
        progress.sealed.push(bytes)
        const report = verifyChain(nobleCrypto, progress.sealed, { deviceId: id, key0: chainKey })
        const dev = chainKey === DEV_KEY
        if (report.ok) console.log(`  sealed   block ${seq}: ${describeBlock(bytes)}, ${bytes.length} B, ${dev ? "under the development key (before provisioning; not synced)" : "verified on arrival"}`)
        else {
            progress.failures++
            console.log(`  sealed   block ${seq}: FAILED verification: ${report.failure!.reason} [${report.failure!.code}]`)
        }
    }

    const onSync = (line: string) => {
        if (!registered) return
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
    let bus: FieldBus | undefined
    let stopping = false
    let bringUp: Promise<void> | undefined
    console.log(`simulator: starting device ${deviceId} (Ctrl-C to stop)`)
    const finished = new Promise<void>(resolve => {
        const stop = () => resolve()
        process.once("SIGINT", stop)
        process.once("SIGTERM", stop)
        const startBringUp = () => {
            bringUp = bringUpDevice({
                gateway,
                deviceId,
                keyFile,
                resume,
                verbose,
                say: line => console.log(line),
                onKey: k => (key0 = k),
                onBus: b => (bus = b),
            }).then(
                () => {
                    registered = true
                },
                e => {
                    if (stopping) return
                    if (!(e instanceof ProvisionError) && !(e instanceof BusError)) console.error("fieldledger start: provisioning failed:", e)
                    else console.error("fieldledger start: provisioning failed: " + e.message + (e.hint ? "\n  hint: " + e.hint : ""))
                    progress.failures++
                    resolve()
                }
            )
        }
        sim.start({
            program: "src/main.ts",
            deviceId,
            freshFlash: !resume,
            onWait: message => console.log("simulator: " + message),
            onLine: line => {
                if (stopping) return
                const clean = cleanLine(line)
                if (clean.startsWith("fl:boot") && !bringUp) {
                    console.log(`simulator: device ${deviceId} booted (${clean.slice("fl:boot ".length)})`)
                    startBringUp()
                }
                if (clean.startsWith("fl:sync ")) onSync(clean)
                if (verbose && !clean.startsWith("fl:block")) console.log("  [firmware] " + clean)
                else if (clean.startsWith("fl:warning") || clean.startsWith("fl:error") || clean.startsWith("fl:fault")) console.log("  [firmware] " + clean)
                const block = parser.push(line)
                if (block) onBlock(block.bytes)
            },
            onExit: (what, code) => {
                console.log(`the simulator's ${what} process exited (code ${code})`)
                progress.failures++
                resolve()
            },
        }).then(
            // The run's time counts from the device's start, not from a wait for the bus.
            () => {
                if (duration !== undefined) setTimeout(stop, duration * 1000)
            },
            e => {
                console.error("fieldledger start: " + (e as Error).message)
                progress.failures++
                resolve()
            }
        )
    })
    await finished
    stopping = true
    if (bringUp && !registered) {
        // Stopped midway through provisioning: close the bus and give the steps a moment to end.
        await bus?.close()
        await Promise.race([bringUp, new Promise(r => setTimeout(r, 2000).unref())])
    }
    sim.stop()

    const d = gateway.service.store.device(deviceId)
    if (d && d.headSeq >= 0) {
        mkdirSync(dirname(exportFile), { recursive: true })
        writeFileSync(exportFile, gateway.service.exportChain(deviceId))
        console.log(`the gateway verified and stored ${d.blockCount} blocks (${d.readings} readings, ${d.gapRecords} gap records, ${d.events} security events)`)
        console.log(`wrote its export to ${exportFile}; check it offline with: npx fieldledger verify ${exportFile} --key-file ${keyFile}`)
    } else console.log("the gateway stored nothing from the device in this run")
    key0?.fill(0)
    await gateway.close()
    return progress.failures > 0 ? 1 : 0
}
