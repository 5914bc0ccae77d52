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
import { dirname, join } from "node:path"
import { DecodedBlock } from "../src/lib/ledger/chain"
import { GAP_REASONS } from "../src/lib/codec/format"
import { isKeyHex, parseKeyHex } from "../src/lib/codec/hexids"
import { FL_GATEWAY } from "../src/lib/config/settings"
import { SIMULATOR_DEV_KEY_HEX } from "../src/lib/ledger/devkey"
import { lostReadingsText, verifyChain } from "../src/lib/ledger/verify"
import { DeviceLine } from "../src/lib/log/parse"
import { commandLine, deviceIdOption, durationOption, portOption, UsageError } from "./lib/args"
import { lockOwner, tryTake } from "./lib/buslock"
import { ChainWatch } from "./lib/chainwatch"
import { nobleCrypto } from "./lib/crypto"
import { BlockLogParser, cleanLine, parseDeviceLine } from "./lib/devicelog"
import { BusDevice, BusError, FieldBus, openBus } from "./lib/jacdacbus"
import { isAddressInUse, portInUseMessage, portIsFree } from "./lib/ports"
import { DeviceState, markProvisioned, newKey0, ProvisionError, readDeviceState, startChainOnDevice, writeConfig } from "./lib/provisioning"
import { publicKeyFingerprint } from "./lib/ed25519"
import { DEFAULT_BUS_WAIT_MS, Simulator } from "./lib/simulator"
import { loadMasterKey } from "./gateway/keyvault"
import { RunningGateway, startGateway } from "./gateway/server"
import { succeed } from "./gateway/succession"
import { createReadToken } from "./gateway/tokencli"
import { masterKeyBesideDatabase } from "./gateway"
import { loadLogKey, logIdentity } from "./gateway/tlog/logkey"
import { pickDevice } from "./provision"

export const START_HELP = `Usage: fieldledger start [--duration SECONDS] [--export FILE] [--key-file FILE] [--continue] [--db PATH] [--port N] [--device-id HEX] [--boot-timeout DURATION] [--bus-wait DURATION] [--verbose]

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
Reading the gateway needs a read token: the run creates one and prints a dashboard link
(/signin?token=...) that signs the browser in with it.

The device boots first under the public simulator development key (docs/FORMAT.md) and seals
a genesis block under it; provisioning starts a successor chain, its genesis linked to that
head. The development-key blocks authenticate nothing and never reach the gateway.

By default each run starts afresh: the simulator's flash (.devicescript/flash/sim.bin), the
gateway database and the key file are erased, and the device is provisioned anew. With
--continue all three are kept and a provisioned device is not provisioned again: it continues
its chain (a reboot: the checkpointed block, then a power-loss gap record) and the gateway
takes it from where it stopped. Nothing is erased before everything that can refuse the run
has been checked: the port, and that no other 'fieldledger start' uses the key file or the
database (each is locked while a run uses it).

The simulator's bus (TCP 8082) serves one fieldledger process at a time: while another holds
it, start says how long it has waited and which process holds it. A device that does not boot
is a failure (exit 1), not a quiet run.

Options:
  --duration SECONDS  stop this long after the device boots (default: run until Ctrl-C)
  --export FILE       where to write the chain on exit (default: data/simulated-chain.json)
  --key-file FILE     where the device's K_0 is kept (default: data/simulated-device.key)
  --continue          keep the device's flash, the gateway's database and the key file
  --db PATH           the gateway's database (default: data/gateway.db)
  --port N            the gateway's port (default: 8787; 0: any free port); the device is
                      configured to sync there
  --device-id HEX     the simulated device's id (16 hex digits, default 5e1f1ed9e0000001)
  --boot-timeout DURATION
                      how long the device may take to boot once the simulator runs it
                      (default 3 min; 90s, 5m, ...); then start fails
  --bus-wait DURATION how long to wait for the simulator bus while another fieldledger
                      process holds it (default 15 min)
  --verbose           also show the firmware's own console lines
  -h, --help          this help`

const DEFAULT_DEVICE_ID = "5e1f1ed9e0000001"
const DEV_KEY = Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex")

function describeBlock(block: DecodedBlock): string {
    if (block.readings) return `${block.readings.length} readings`
    if (block.bodyAt !== undefined) return `${block.header.readingCount} encrypted readings`
    if (block.gap) return `gap record (${lostReadingsText(GAP_REASONS[block.gap.reason], block.gap.lostReadings)})`
    return block.header.link.some(b => b !== 0)
        ? `genesis (successor of head ${block.header.link.toString("hex").slice(0, 16)})`
        : "genesis"
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
    const bus = await openBus({ sim: true, verbose: o.verbose })
    o.onBus(bus)
    try {
        const device = await findDevice(bus, o.deviceId)
        const state = await readDeviceState(device.settings, nobleCrypto, o.deviceId)
        if (o.resume && state.provisioned) await continueProvisioned(o, device, state.config[FL_GATEWAY.key], state)
        else await provisionAfresh(o, device)
    } finally {
        await bus.close()
    }
}

/** --continue on a provisioned device: its K_0 from the key file; the gateway and the device pointed at each other. */
async function continueProvisioned(o: BringUp, device: BusDevice, configuredGateway: unknown, state: DeviceState) {
    const { gateway, deviceId, say } = o
    const key0 = readKeyFile(o.keyFile)
    if (!key0)
        throw new ProvisionError(
            "no-key-file",
            `device ${deviceId} is provisioned but ${o.keyFile} does not hold its key`,
            "run without --continue to start afresh"
        )
    o.onKey(key0)
    if (configuredGateway !== gateway.url) {
        await writeConfig(device.settings, { gatewayUrl: gateway.url })
        await device.restartProgram()
        say(`device ${deviceId}: now syncing to ${gateway.url} (program restarted)`)
    }
    if (!(await gateway.service.store.device(deviceId))) {
        const publicKey = state.signingKey && state.signingKey.forThisChain ? state.signingKey.publicKey : undefined
        await gateway.service.register({ deviceId, key0: key0.toString("hex"), label: "simulated device", publicKey })
        say(`gateway: registered device ${deviceId} under its key from ${o.keyFile}` + signingNote(publicKey))
    }
    say(`device ${deviceId} is provisioned: its chain continues under the key in ${o.keyFile}`)
}

/** Configuration, a fresh K_0 (on disk first), the device's new chain under it, and the gateway told. */
async function provisionAfresh(o: BringUp, device: BusDevice) {
    const { gateway, deviceId, say } = o
    say(`provisioning device ${deviceId} over the devtools bus: configuration, then a new chain under a fresh key`)
    const written = await writeConfig(device.settings, { gatewayUrl: gateway.url })
    say(
        "  configuration written and read back: " +
            Object.entries(written)
                .map(([k, v]) => k + "=" + JSON.stringify(v))
                .join(" ")
    )
    const key0 = newKey0()
    // On disk before the device has it: a stop midway never leaves a chain under a lost key.
    writeKeyFile(o.keyFile, key0)
    o.onKey(key0)
    const proof = await startChainOnDevice({
        settings: device.settings,
        crypto: nobleCrypto,
        deviceId,
        key0,
        restartProgram: () => device.restartProgram(),
    })
    await markProvisioned(device.settings, Math.floor(Date.now() / 1000))
    const successor = /^0+$/.test(proof.link) ? "" : ` (successor of head ${proof.link.slice(0, 16)})`
    say(`  the device sealed a new genesis block under the new key${successor} and deleted the key; marked provisioned`)
    if (await gateway.service.store.device(deviceId)) {
        // A database kept with --continue holds the device's earlier chain: key succession.
        const r = await succeed(gateway.service, deviceId, {
            key0: key0.toString("hex"),
            genesis: proof.genesis,
            publicKey: proof.publicKey,
        })
        say(
            `  gateway: chain ${r.closedChain} closed (head seq ${r.closedHead.seq}); the new chain succeeds it` +
                signingNote(proof.publicKey)
        )
    } else {
        await gateway.service.register({ deviceId, key0: key0.toString("hex"), label: "simulated device", publicKey: proof.publicKey })
        say(`  gateway: registered device ${deviceId} with the new key (kept in ${o.keyFile}, mode 0600)` + signingNote(proof.publicKey))
    }
}

/** What the registration says of the device's signing key (docs/PROVISIONING.md, "Signing key"). */
function signingNote(publicKey: string | undefined): string {
    return publicKey
        ? `; its signing key pk_0 (fingerprint ${publicKeyFingerprint(Buffer.from(publicKey, "hex"))}) too`
        : "; the device published no signing key"
}

interface StartOptions {
    durationMs?: number
    bootTimeoutMs: number
    busWaitMs: number
    deviceId: string
    port: number
    exportFile: string
    keyFile: string
    db: string
    resume: boolean
    verbose: boolean
}

/** The options, or undefined when --help asked for the help (printed). */
function parseStartOptions(argv: string[]): StartOptions | undefined {
    const cli = commandLine(
        argv,
        {
            duration: { type: "string" },
            export: { type: "string" },
            "key-file": { type: "string" },
            "device-id": { type: "string" },
            db: { type: "string" },
            port: { type: "string" },
            "boot-timeout": { type: "string" },
            "bus-wait": { type: "string" },
            verbose: { type: "boolean" },
            continue: { type: "boolean" },
        },
        START_HELP
    )
    if (!cli) return undefined
    const durationText = cli.string("duration")
    const duration = durationText === undefined ? undefined : Number(durationText)
    if (duration !== undefined && !(duration > 0)) throw new UsageError("--duration must be a positive number of seconds")
    return {
        durationMs: duration === undefined ? undefined : duration * 1000,
        bootTimeoutMs: durationOption(cli, "boot-timeout", 3 * 60000),
        busWaitMs: durationOption(cli, "bus-wait", DEFAULT_BUS_WAIT_MS),
        deviceId: deviceIdOption(cli, "device-id") ?? DEFAULT_DEVICE_ID,
        port: portOption(cli, 8787),
        exportFile: cli.string("export") ?? "data/simulated-chain.json",
        keyFile: cli.string("key-file") ?? "data/simulated-device.key",
        db: cli.string("db") ?? "data/gateway.db",
        resume: cli.boolean("continue"),
        verbose: cli.boolean("verbose"),
    }
}

/**
 * Everything that can refuse the run, checked before anything is erased: no other `start`
 * uses the key file or the database (each gets a pid lock file beside it for this run), and
 * the port is free. Returns the release of the locks, or the line that says why not.
 */
async function claimRun(o: StartOptions): Promise<{ release(): void } | { refusal: string }> {
    const taken: string[] = []
    const release = () => taken.forEach(path => rmSync(path, { force: true }))
    for (const file of [o.keyFile, o.db]) {
        const lock = file + ".lock"
        mkdirSync(dirname(lock), { recursive: true })
        if (!tryTake(lock)) {
            release()
            const pid = lockOwner(lock)
            return {
                refusal: `fieldledger start: ${file} is in use by another fieldledger start${pid ? " (pid " + pid + ")" : ""}; stop it first, or give this run its own --db and --key-file`,
            }
        }
        taken.push(lock)
    }
    if (!(await portIsFree("127.0.0.1", o.port))) {
        release()
        return { refusal: portInUseMessage("start", o.port) }
    }
    return { release }
}

/** A fresh run: the previous run's key file and database go (the simulator's flash goes once the bus is ours). */
function eraseLastRun(o: StartOptions) {
    rmSync(o.keyFile, { force: true })
    for (const suffix of ["", "-wal", "-shm"]) rmSync(o.db + suffix, { force: true })
}

async function openGateway(o: StartOptions): Promise<RunningGateway | undefined> {
    mkdirSync(dirname(o.db), { recursive: true })
    // The demo's database is thrown away on each run (unless --continue): its master key lives
    // with it, under data/, so the demo leaves nothing in the user's configuration directory.
    // A deployment runs `fieldledger gateway`, whose default keeps the key apart.
    const master = loadMasterKey({ envValue: process.env.FL_MASTER_KEY || undefined, defaultFile: masterKeyBesideDatabase(o.db) })
    let gateway: RunningGateway
    try {
        // The demo's log key lives beside its database too (a real gateway keeps it apart).
        const logKey = loadLogKey(join(dirname(o.db), "gateway-log.key"), { create: true })
        gateway = await startGateway({ db: o.db, port: o.port, masterKey: master.key, logKey: logIdentity(logKey.seed) })
    } catch (e) {
        // Taken between the look and the listen.
        if (!isAddressInUse(e)) throw e
        console.error(portInUseMessage("start", o.port))
        return undefined
    }
    // Reads need a token (docs/API.md, "Access"): this run makes one, and the link signs the
    // browser in with it (the token then leaves the address bar; the cookie keeps it).
    const { token } = await createReadToken(gateway.service.store, { label: "fieldledger start" })
    console.log(
        `gateway: ${gateway.url} (database ${o.db}); API in docs/API.md, with the read token of the link below as Authorization: Bearer`
    )
    console.log(
        `dashboard: ${dashboardLink(gateway.url, token)} (open it in a browser: it signs in, then the fleet, the device's plots and chain, live)`
    )
    return gateway
}

/** The link that signs a browser in to the dashboard with `token` (tools/gateway/signin.ts). */
export function dashboardLink(url: string, token: string): string {
    return url + "/signin?token=" + encodeURIComponent(token)
}

/**
 * What the terminal shows of the device: each block it seals, checked here as it appears;
 * each sync round with what the gateway holds; its warnings and errors (all lines with
 * --verbose).
 */
class DeviceView {
    failures = 0
    /** The provisioned K_0 once known (with --continue: the key file's). */
    key0: Buffer | undefined
    /** Until the gateway knows the device its syncs are refused: not news. */
    registered = false
    private readonly watch: ChainWatch
    private readonly parser = new BlockLogParser()

    constructor(
        private readonly o: StartOptions,
        private readonly gateway: RunningGateway
    ) {
        const id = Buffer.from(o.deviceId, "hex")
        this.key0 = o.resume ? readKeyFile(o.keyFile) : undefined
        // Under the development key a chain is the device before provisioning; any other is
        // checked under K_0 (and fails if under neither).
        const keyFor = (genesis: Buffer): Buffer => {
            const k = this.key0
            return k && (genesisUnder(k, id, genesis) || !genesisUnder(DEV_KEY, id, genesis)) ? k : DEV_KEY
        }
        this.watch = new ChainWatch(nobleCrypto, id, keyFor)
    }

    /** With --continue, the chain the gateway already holds: checked once, shown no more. */
    async loadStoredChain() {
        const { deviceId } = this.o
        if (!this.o.resume || !(await this.gateway.service.store.device(deviceId))) return
        this.registered = true
        const exported = JSON.parse(await this.gateway.service.exportChain(deviceId)) as { blocks: string[] }
        for (const hex of exported.blocks) this.watch.add(Buffer.from(hex, "hex"))
        if (exported.blocks.length > 0)
            console.log(`continuing device ${deviceId}'s chain: the gateway holds ${exported.blocks.length} blocks`)
    }

    /** One raw line of the simulator's output. */
    onLine(raw: string, line: DeviceLine | undefined) {
        const clean = cleanLine(raw)
        if (line?.kind === "sync") void this.onSync(line)
        const alarming = line?.kind === "warning" || line?.kind === "error" || line?.kind === "fault"
        if ((this.o.verbose && line?.kind !== "block") || (!this.o.verbose && alarming)) console.log("  [firmware] " + clean)
        const block = this.parser.push(raw)
        if (block) this.onBlock(block.bytes)
    }

    private onBlock(bytes: Buffer) {
        const seen = this.watch.add(bytes)
        if (!seen) return
        const { seq, check, key } = seen
        if (check.ok) {
            const where = key === DEV_KEY ? "under the development key (before provisioning; not synced)" : "verified on arrival"
            console.log(`  sealed   block ${seq}: ${describeBlock(seen.block!)}, ${bytes.length} B, ${where}`)
        } else {
            this.failures++
            console.log(`  sealed   block ${seq ?? "?"}: FAILED verification: ${check.reason} [${check.code}]`)
        }
    }

    private async onSync(line: Extract<DeviceLine, { kind: "sync" }>) {
        if (!this.registered) return
        const d = await this.gateway.service.store.device(this.o.deviceId)
        const held = d && d.headSeq >= 0 ? `gateway holds seq 0..${d.headSeq}, ${d.readings} readings stored` : "gateway holds nothing yet"
        if (line.outcome === "synced") console.log(`  synced   ${line.sent} block(s); ${held}; device backlog ${line.backlog}`)
        else console.log(`  sync ${line.outcome}: ${line.error ?? ""} (${line.sent} block(s) not taken; the device retries with backoff)`)
    }
}

/** The last few lines of the firmware, for a message about a device that did not boot. */
const LAST_LINES = 8

/**
 * Runs the firmware in the simulator and provisions it once it boots; resolves when the run
 * ends (Ctrl-C, --duration after the boot, a failure). A device that never boots is a failure
 * with its own line, and --duration counts from the boot, never from a wait for the bus.
 */
async function runSimulatedDevice(o: StartOptions, gateway: RunningGateway, view: DeviceView): Promise<void> {
    const sim = new Simulator()
    let bus: FieldBus | undefined
    let stopping = false
    let bringUp: Promise<void> | undefined
    let booted = false
    let bootTimedOut = false
    const timers: NodeJS.Timeout[] = []
    const last: string[] = []
    const fail = (line: string) => {
        if (stopping) return
        console.error("fieldledger start: " + line)
        view.failures++
    }
    console.log(`simulator: starting device ${o.deviceId} (Ctrl-C to stop)`)
    await new Promise<void>(resolve => {
        const stop = () => resolve()
        process.once("SIGINT", stop)
        process.once("SIGTERM", stop)
        const onBoot = (line: Extract<DeviceLine, { kind: "boot" }>, clean: string) => {
            booted = true
            console.log(`simulator: device ${o.deviceId} booted (${clean.slice("fl:boot ".length)})`)
            if (o.durationMs !== undefined) timers.push(setTimeout(stop, o.durationMs))
            bringUp = bringUpDevice({
                gateway,
                deviceId: o.deviceId,
                keyFile: o.keyFile,
                resume: o.resume,
                verbose: o.verbose,
                say: line => console.log(line),
                onKey: k => (view.key0 = k),
                onBus: b => (bus = b),
            }).then(
                () => {
                    view.registered = true
                },
                e => {
                    if (!(e instanceof ProvisionError) && !(e instanceof BusError))
                        fail("provisioning failed: " + ((e as Error).stack ?? e))
                    else fail("provisioning failed: " + e.message + (e.hint ? "\n  hint: " + e.hint : ""))
                    resolve()
                }
            )
        }
        sim.start({
            program: "src/main.ts",
            deviceId: o.deviceId,
            freshFlash: !o.resume,
            busWaitMs: o.busWaitMs,
            onWait: message => console.log("simulator: " + message),
            onLine: raw => {
                if (stopping) return
                const clean = cleanLine(raw)
                last.push(clean)
                if (last.length > LAST_LINES) last.shift()
                const line = parseDeviceLine(raw)
                if (line?.kind === "boot" && !booted) onBoot(line, clean)
                view.onLine(raw, line)
            },
            onExit: (what, code) => {
                fail(`the simulator's ${what} process exited (code ${code})`)
                resolve()
            },
        }).then(
            () => {
                const limit = Math.round(o.bootTimeoutMs / 1000)
                timers.push(
                    setTimeout(() => {
                        if (booted) return
                        bootTimedOut = true
                        fail(
                            `the device never booted: no fl:boot line within ${limit} s of the simulator starting it (--boot-timeout)` +
                                (last.length ? "; its last lines:\n  " + last.join("\n  ") : "; it printed nothing")
                        )
                        resolve()
                    }, o.bootTimeoutMs)
                )
            },
            e => {
                fail((e as Error).message)
                resolve()
            }
        )
    })
    if (!booted && !bootTimedOut) fail("the device never booted, so nothing was provisioned, sealed or synced")
    stopping = true
    timers.forEach(clearTimeout)
    if (bringUp && !view.registered) {
        // Stopped midway through provisioning: close the bus and give the steps a moment to end.
        await bus?.close()
        await Promise.race([bringUp, new Promise(r => setTimeout(r, 2000).unref())])
    }
    sim.stop()
}

/** The gateway's export of the chain, for `fieldledger verify`. */
async function writeExport(o: StartOptions, gateway: RunningGateway) {
    const d = await gateway.service.store.device(o.deviceId)
    if (!d || d.headSeq < 0) {
        console.log("the gateway stored nothing from the device in this run")
        return
    }
    mkdirSync(dirname(o.exportFile), { recursive: true })
    writeFileSync(o.exportFile, await gateway.service.exportChain(o.deviceId))
    console.log(
        `the gateway verified and stored ${d.blockCount} blocks (${d.readings} readings, ${d.gapRecords} gap records, ${d.events} security events)`
    )
    console.log(
        `wrote its export to ${o.exportFile}; check it offline with: npx fieldledger verify ${o.exportFile} --key-file ${o.keyFile}`
    )
    const signing = await gateway.service.store.signing(o.deviceId)
    if (signing)
        console.log(
            `or without K_0, up to its last signed checkpoint: npx fieldledger verify ${o.exportFile} --public-key ${signing.publicKey0.toString("hex")}`
        )
}

export async function runStart(argv: string[]): Promise<number> {
    const options = parseStartOptions(argv)
    if (!options) return 0
    const claim = await claimRun(options)
    if ("refusal" in claim) {
        console.error(claim.refusal)
        return 1
    }
    try {
        if (!options.resume) eraseLastRun(options)
        const gateway = await openGateway(options)
        if (!gateway) return 1
        const view = new DeviceView(options, gateway)
        try {
            await view.loadStoredChain()
            await runSimulatedDevice(options, gateway, view)
            await writeExport(options, gateway)
        } finally {
            view.key0?.fill(0)
            await gateway.close()
        }
        return view.failures > 0 ? 1 : 0
    } finally {
        claim.release()
    }
}
