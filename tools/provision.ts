/**
 * `fieldledger provision`, `fieldledger register` and `fieldledger devices`: the technician's
 * commands (docs/PROVISIONING.md). Thin: the bus is tools/lib/jacdacbus.ts, the logic
 * tools/lib/provisioning.ts. Exit 0 done, 1 failed (the message says why and what to do),
 * 2 usage. With --json stdout is one JSON object, also on failure.
 */
import { existsSync, readFileSync } from "node:fs"
import { FL_BACKLOG, FL_BLOCK_AGE, FL_GATEWAY, FL_INTERVAL, Setting } from "../src/lib/config/settings"
import { isGatewayUrl } from "../src/lib/sync/gatewayurl"
import { CommandLine, commandLine, deviceIdOption, gatewayOption, readAdminToken, UsageError } from "./lib/args"
import { nobleCrypto } from "./lib/crypto"
import { BusDevice, BusError, FieldBus, openBus } from "./lib/jacdacbus"
import {
    addPendingRegistration,
    checkAdminToken,
    DEFAULT_PENDING_FILE,
    DeviceState,
    FIRMWARE_PROGRAM_NAME,
    gatewayView,
    GatewayView,
    markProvisioned,
    newKey0,
    ProvisionConfig,
    ProvisionError,
    readDeviceState,
    Registration,
    registerWithGateway,
    startChainOnDevice,
    uploadPending,
    validateConfig,
    writeConfig,
    writeDataKeyFile,
} from "./lib/provisioning"
import { publicKeyFingerprint } from "./lib/ed25519"
import { requestSignedCheckpoint } from "./lib/signingkey"

/** "FL_X, min..max" for the help: the limits the firmware enforces (src/lib/config/settings.ts). */
const limits = (s: Setting) => s.key + ", " + s.min + ".." + s.max

export const PROVISION_HELP = `Usage: fieldledger provision (--sim | [--port PATH]) [--device ID] --gateway URL [options]
       fieldledger provision --check (--sim | [--port PATH]) [--device ID] [--gateway URL]

Provisions a fieldledger device over USB serial (or the simulator with --sim): writes its
configuration, gives it a new random key K_0 (32 bytes) from which it seals a new chain (its
genesis block, checked here under K_0), and registers the device and K_0 with the gateway.
K_0 is never printed. If the gateway is unreachable the registration is written to a pending
file (mode 0600; it holds K_0) for 'fieldledger register --pending FILE'.

A provisioned device is refused unless --force: then it is key succession, a new K_0 and a new
chain whose genesis links to the old chain's head; the gateway closes the old chain.

Options:
  --sim                    the simulator's devtools bus (tcp://127.0.0.1:8082)
  --port PATH              serial port (default: the one USB board found; needs udevadm)
  --device ID              which device (16 hex digits) when several are on the bus
  --gateway URL            the gateway to register with (http://host:port)
  --device-gateway URL     the gateway URL the device syncs to (default: --gateway), or
                           "usb": through 'fieldledger bridge' on the host (no WiFi)
  --interval MS            sampling interval (${limits(FL_INTERVAL)})
  --block-age MS           longest time a block stays open (${limits(FL_BLOCK_AGE)})
  --backlog N              unacknowledged blocks kept in flash (${limits(FL_BACKLOG)})
  --wifi-ssid SSID         WiFi network (password from env FL_WIFI_PASSWORD or --wifi-password-file)
  --wifi-password-file F   file holding the WiFi password
  --label TEXT             the device's label at the gateway
  --admin-token-file FILE  the gateway's admin token (else env FL_ADMIN_TOKEN)
  --pending FILE           where an offline registration goes (default ${DEFAULT_PENDING_FILE})
  --force                  re-provision a provisioned device (key succession)
  --encrypt                end-to-end encryption of the readings: a new random data key D_0
                           goes to the device and to --data-key-file, never to the gateway
                           (which then stores and verifies ciphertext). Read the readings
                           with 'fieldledger verify EXPORT --data-key PATH'
  --data-key-file PATH     where --encrypt writes D_0 (64 hex digits, mode 0600; refused if
                           the file exists). Lose it and the readings are lost with it
  --check                  only show the device's state and what the gateway knows of it
                           (which needs a read token in env FL_READ_TOKEN, or the admin token)
  --timeout S              how long to wait for the device to seal its genesis (default 30)
  --json                   one JSON object on stdout
  --verbose                jacdac-ts's debug lines
  -h, --help               this help`

export const REGISTER_HELP = `Usage: fieldledger register --pending FILE [--gateway URL] [--admin-token-file FILE] [--json]

Uploads registrations that 'fieldledger provision' could not deliver (the gateway was
unreachable). Each goes to the gateway it was made for unless --gateway names another. Those
delivered leave the file; the file is deleted once empty. It holds device keys: keep it mode
0600 and delete any copy.

Options:
  --pending FILE           the pending file (default ${DEFAULT_PENDING_FILE})
  --gateway URL            send every registration to this gateway
  --admin-token-file FILE  the gateway's admin token (else env FL_ADMIN_TOKEN)
  --json                   one JSON object on stdout
  -h, --help               this help`

export const DEVICES_HELP = `Usage: fieldledger devices (--sim | [--port PATH]) [--json]

Lists the devices on the bus: id, what they run, and for fieldledger devices their chain state.

Options:
  --sim         the simulator's devtools bus (tcp://127.0.0.1:8082)
  --port PATH   serial port (default: the one USB board found)
  --json        one JSON object on stdout
  --verbose     jacdac-ts's debug lines
  -h, --help    this help`

const BUS_OPTIONS = { sim: { type: "boolean" }, port: { type: "string" }, json: { type: "boolean" }, verbose: { type: "boolean" } } as const

/** Prints a failure for people (stderr) or scripts (--json on stdout); returns the exit status. */
function fail(command: string, json: boolean, e: unknown): number {
    if (!(e instanceof ProvisionError) && !(e instanceof BusError)) throw e
    const code = e instanceof ProvisionError ? e.code : e.code
    if (json) console.log(JSON.stringify({ ok: false, error: code, message: e.message, hint: e.hint }))
    else console.error("fieldledger " + command + ": " + e.message + (e.hint ? "\n  hint: " + e.hint : ""))
    return 1
}

function wholeNumber(text: string | undefined, name: string): number | undefined {
    if (text === undefined) return undefined
    if (!/^\d{1,9}$/.test(text)) throw new UsageError(name + " must be a whole number")
    return Number(text)
}

function describeDevice(d: BusDevice): string {
    const program = d.programName ? d.programName + " " + (d.programVersion ?? "") : "no DeviceScript program"
    return d.id + "  " + (d.description ?? "?") + "  runtime " + (d.runtimeVersion ?? "?") + "  program " + program.trim()
}

/** The fieldledger device to work on: the one on the bus, or the one --device names. */
export async function pickDevice(bus: FieldBus, wanted: string | undefined): Promise<BusDevice> {
    const all = await bus.devices()
    const candidates = all.filter(d => d.hasSettings)
    if (wanted) {
        const d = all.find(x => x.id === wanted)
        if (!d)
            throw new ProvisionError(
                "no-device",
                "device " + wanted + " is not on " + bus.description + (all.length ? " (seen: " + all.map(x => x.id).join(", ") + ")" : ""),
                "is it plugged in and running?"
            )
        return checkFirmware(d)
    }
    if (candidates.length === 0)
        throw new ProvisionError(
            "no-device",
            "no device found on " + bus.description,
            "plug the board in (a data cable, not a charging one) and check it runs fieldledger firmware"
        )
    if (candidates.length > 1)
        throw new ProvisionError(
            "several-devices",
            "several devices on " + bus.description + ":\n" + candidates.map(d => "    " + describeDevice(d)).join("\n"),
            "choose one with --device ID"
        )
    return checkFirmware(candidates[0])
}

function checkFirmware(d: BusDevice): BusDevice {
    if (!d.hasSettings || d.programName !== FIRMWARE_PROGRAM_NAME)
        throw new ProvisionError(
            "not-fieldledger",
            "device " +
                d.id +
                " does not run fieldledger firmware (" +
                (d.programName ? "its program is '" + d.programName + "'" : "no DeviceScript program") +
                ")",
            "flash the fieldledger firmware first (docs/PROVISIONING.md)"
        )
    return d
}

function stateLines(s: DeviceState): string[] {
    const lines = [
        "device " +
            s.deviceId +
            ": " +
            (s.provisioned ? "provisioned" + (s.provisionedAt ? " (" + s.provisionedAt + ")" : "") : "unprovisioned"),
    ]
    if (s.pendingKey) lines.push("  a provisioned key is waiting for the firmware to start its chain")
    if (!s.chain) lines.push("  no chain in flash")
    else {
        const c = s.chain
        lines.push(
            "  chain: head seq " +
                (c.seq - 1) +
                ", boot " +
                c.boot +
                ", backlog " +
                c.backlog +
                " block(s) not acknowledged" +
                (c.lost ? ", blocks " + c.lost.fromSeq + ".." + c.lost.toSeq + " dropped" : "")
        )
        if (c.developmentKey) lines.push("  sealed under the public simulator development key: authenticates nothing")
        if (c.previousChainHead) lines.push("  successor of the chain with head " + c.previousChainHead.slice(0, 16))
        lines.push(
            c.encrypted
                ? "  readings encrypted end to end (provision --encrypt): the owner's data key file reads them"
                : "  readings in clear (provisioned without --encrypt)"
        )
        const k = s.signingKey
        lines.push(
            !k
                ? "  signing key: none published (a firmware without signed checkpoints): the chain is verifiable with K_0 only"
                : k.forThisChain
                  ? "  signing key: fingerprint " + k.fingerprint + " (pk_0 of this chain)"
                  : "  signing key: fingerprint " + k.fingerprint + " names another chain's genesis (stale)"
        )
    }
    const cfg = Object.entries(s.config).map(([k, v]) => k + "=" + JSON.stringify(v))
    lines.push("  configuration: " + (cfg.length ? cfg.join(" ") : "defaults"))
    return lines
}

function gatewayLines(url: string, v: GatewayView | { error: string }, device?: DeviceState): string[] {
    if ("error" in v) return ["gateway " + url + ": " + v.error]
    if (!v.known) return ["gateway " + url + ": does not know this device"]
    const signing = !v.signing
        ? ["gateway " + url + ": no signing key registered: nothing of this chain can be verified without K_0"]
        : [
              "gateway " +
                  url +
                  ": signing key fingerprint " +
                  v.signing.fingerprint +
                  ", " +
                  (v.signing.signedTo === null ? "nothing signed yet" : "signed up to seq " + v.signing.signedTo),
          ]
    const mine = device?.signingKey
    if (v.signing && mine && mine.forThisChain && mine.fingerprint !== v.signing.fingerprint)
        signing.push(
            "warning: the gateway holds another signing key than the device's (" +
                mine.fingerprint +
                "): it will refuse its signed checkpoints"
        )
    return [
        "gateway " +
            url +
            ": registered, acknowledged up to seq " +
            v.ackedSeq +
            (v.lastSeen ? ", last seen " + v.lastSeen : ", never synced") +
            (v.reportedBacklog !== null && v.reportedBacklog !== undefined ? ", device reported backlog " + v.reportedBacklog : ""),
        ...signing,
    ]
}

/** Picks the device, reads its state, shows both. */
async function lookAt(
    bus: FieldBus,
    wanted: string | undefined,
    out: Record<string, unknown>,
    say: (line: string) => void
): Promise<{ device: BusDevice; state: DeviceState }> {
    const device = await pickDevice(bus, wanted)
    const state = await readDeviceState(device.settings, nobleCrypto, device.id)
    out.device = {
        id: device.id,
        description: device.description,
        program: device.programName,
        programVersion: device.programVersion,
        runtime: device.runtimeVersion,
    }
    stateLines(state).forEach(say)
    return { device, state }
}

async function withBus<T>(cli: CommandLine, fn: (bus: FieldBus) => Promise<T>): Promise<T> {
    if (cli.boolean("sim") && cli.string("port")) throw new UsageError("--sim and --port exclude each other")
    const bus = await openBus({ sim: cli.boolean("sim"), port: cli.string("port"), verbose: cli.boolean("verbose") })
    try {
        return await fn(bus)
    } finally {
        await bus.close()
    }
}

/** Everything `provision` will do, read and checked from the command line before any I/O. */
export interface ProvisionPlan {
    gateway: string
    adminToken: string
    config: ProvisionConfig
    wifi?: { ssid: string; password: string }
    label?: string
    force: boolean
    timeoutS: number
    pendingFile: string
    /** --encrypt: where the data owner's key file (D_0) goes. */
    dataKeyFile?: string
}

type Say = (line: string) => void

function provisionPlan(cli: CommandLine): ProvisionPlan {
    const gateway = gatewayOption(cli, "gateway")
    if (!gateway) throw new UsageError("--gateway URL is required: the gateway that will verify this device's blocks")
    const adminToken = readAdminToken(cli.string("admin-token-file"))
    if (!adminToken) throw new UsageError("no admin token: set FL_ADMIN_TOKEN or pass --admin-token-file FILE")
    const config: ProvisionConfig = {
        gatewayUrl: cli.string("device-gateway") ?? gateway,
        intervalMs: wholeNumber(cli.string("interval"), "--interval"),
        blockAgeMs: wholeNumber(cli.string("block-age"), "--block-age"),
        backlog: wholeNumber(cli.string("backlog"), "--backlog"),
    }
    try {
        validateConfig(config)
    } catch (e) {
        throw new UsageError((e as Error).message)
    }
    const plan: ProvisionPlan = {
        gateway,
        adminToken,
        config,
        label: cli.string("label"),
        force: cli.boolean("force"),
        timeoutS: wholeNumber(cli.string("timeout"), "--timeout") ?? 30,
        pendingFile: cli.string("pending") ?? DEFAULT_PENDING_FILE,
    }
    const dataKeyFile = cli.string("data-key-file")
    if (cli.boolean("encrypt")) {
        if (!dataKeyFile)
            throw new UsageError("--encrypt needs --data-key-file PATH: where the data owner's key goes (it is never printed)")
        if (existsSync(dataKeyFile))
            throw new UsageError("--data-key-file " + dataKeyFile + " exists: it may hold another chain's data key")
        plan.dataKeyFile = dataKeyFile
    } else if (dataKeyFile) throw new UsageError("--data-key-file goes with --encrypt")
    const ssid = cli.string("wifi-ssid")
    if (ssid !== undefined) {
        const file = cli.string("wifi-password-file")
        const password = file ? readFileSync(file, "utf8").replace(/\r?\n$/, "") : process.env.FL_WIFI_PASSWORD
        if (password === undefined)
            throw new UsageError("--wifi-ssid needs the password: env FL_WIFI_PASSWORD or --wifi-password-file FILE")
        plan.wifi = { ssid, password }
    }
    return plan
}

/** `provision --check`: the device's state and, when a gateway is known, what it holds of it. */
async function checkDevice(cli: CommandLine, wanted: string | undefined, out: Record<string, unknown>, say: Say): Promise<number> {
    return withBus(cli, async bus => {
        const { device, state } = await lookAt(bus, wanted, out, say)
        out.state = state
        const configured = state.config[FL_GATEWAY.key]
        const url = gatewayOption(cli, "gateway") ?? (isGatewayUrl(configured) ? (configured as string) : undefined)
        if (url) {
            let view: GatewayView | { error: string }
            try {
                const readToken = process.env.FL_READ_TOKEN || undefined
                view = await gatewayView(
                    { url, adminToken: readToken ? undefined : readAdminToken(cli.string("admin-token-file")), readToken },
                    device.id
                )
            } catch (e) {
                if (!(e instanceof ProvisionError)) throw e
                view = { error: e.message }
            }
            out.gateway = { url, ...view }
            gatewayLines(url, view, state).forEach(say)
        }
        return 0
    })
}

/** The gateway takes the token (or is out of reach: offline provisioning), before the device is touched. */
async function checkGatewayFirst(plan: ProvisionPlan, say: Say) {
    const check = await checkAdminToken({ url: plan.gateway, adminToken: plan.adminToken })
    if (check === "unreachable")
        say("gateway " + plan.gateway + " is unreachable: provisioning offline, the registration will wait in " + plan.pendingFile)
    if (check === "cannot-check")
        say("gateway " + plan.gateway + " cannot check the admin token before provisioning (an older gateway): the registration will tell")
}

/** Refuses what provisioning must not do to this device, before anything is written. */
function refuseIfUnfit(device: ProvisionableDevice, before: DeviceState, plan: ProvisionPlan, say: Say) {
    if (before.provisioned && !plan.force)
        throw new ProvisionError(
            "already-provisioned",
            "device " + device.id + " is already provisioned",
            "--force gives it a new key and a successor chain (key succession); --check shows its state"
        )
    if (plan.wifi && !device.addWifiNetwork)
        throw new ProvisionError(
            "no-wifi",
            "device " + device.id + " has no WiFi service",
            "a board without WiFi (Pico) syncs over USB: --device-gateway usb, then run 'fieldledger bridge' on the host it is plugged into"
        )
    if (before.provisioned && before.chain && before.chain.backlog > 0)
        say(
            "warning: " +
                before.chain.backlog +
                " block(s) of the old chain are not acknowledged by a gateway; the successor chain starts after them and the gateway records the gap"
        )
}

async function configureDevice(device: ProvisionableDevice, plan: ProvisionPlan, out: Record<string, unknown>, say: Say) {
    out.config = await writeConfig(device.settings, plan.config)
    say(
        "configuration written and read back: " +
            Object.entries(out.config as object)
                .map(([k, v]) => k + "=" + JSON.stringify(v))
                .join(" ")
    )
    if (plan.wifi) {
        await device.addWifiNetwork!(plan.wifi.ssid, plan.wifi.password)
        say("WiFi network " + JSON.stringify(plan.wifi.ssid) + " added")
    }
}

/**
 * Registers the device's new K_0 with the gateway. The device has switched keys by now, so a
 * registration that fails for any reason keeps K_0 in the pending file (mode 0600) rather than
 * losing it: unreachable is the offline path (done); any other refusal fails, naming the file.
 */
async function deliverRegistration(plan: ProvisionPlan, registration: Registration, out: Record<string, unknown>, say: Say) {
    let failure: ProvisionError
    try {
        const outcome = await registerWithGateway({ url: plan.gateway, adminToken: plan.adminToken }, registration)
        if (outcome !== "already-registered") {
            out.registration = outcome
            say(
                outcome === "succeeded"
                    ? "gateway " + plan.gateway + ": old chain closed, the new chain is its successor"
                    : "gateway " + plan.gateway + ": device registered"
            )
            return
        }
        failure = new ProvisionError(
            "gateway-conflict",
            "the gateway already holds another key for device " + registration.deviceId + ": it will refuse this chain",
            "provision again with --force (key succession)"
        )
    } catch (e) {
        if (!(e instanceof ProvisionError)) throw e
        failure = e
    }
    addPendingRegistration(plan.pendingFile, plan.gateway, registration)
    out.registration = "pending"
    out.pendingFile = plan.pendingFile
    const upload = "'fieldledger register --pending " + plan.pendingFile + "'"
    if (failure.code !== "gateway-unreachable")
        throw new ProvisionError(
            failure.code,
            failure.message + "; the device's new key is kept in " + plan.pendingFile + " (mode 0600)",
            (failure.hint ? failure.hint + "; then " : "") + "upload the registration with " + upload
        )
    say(failure.message)
    say(
        "registration saved to " +
            plan.pendingFile +
            " (mode 0600; it holds the device key): upload it with " +
            upload +
            " and then make sure the file is gone"
    )
}

/**
 * Before a key succession, the old chain's blocks are signed: the device seals a signed
 * checkpoint on request (fl_signnow), so that everything it sealed up to now stays publicly
 * verifiable after its signing key for this chain is gone. A device that does not answer in
 * time is provisioned anyway; the report says its tail stays unsigned.
 */
async function signBeforeSuccession(device: ProvisionableDevice, plan: ProvisionPlan, out: Record<string, unknown>, say: Say) {
    say("asking the device to sign its chain before the key succession ...")
    const signed = await requestSignedCheckpoint(device.settings, { timeoutMs: plan.timeoutS * 1000 })
    out.signedBeforeSuccession = signed
    say(
        signed
            ? "the device sealed a signed checkpoint: the old chain is signed up to its head"
            : "warning: the device did not seal a signed checkpoint within " +
                  plan.timeoutS +
                  " s: the old chain's blocks after its last signed checkpoint stay unsigned"
    )
}

/** What provisioning needs of a device on the bus (a test's fake has the same). */
export type ProvisionableDevice = Pick<BusDevice, "id" | "settings" | "restartProgram" | "addWifiNetwork">

/**
 * Provisions one device whose state was read as `before`: configuration, a new K_0 the device
 * starts its chain under (proved here), the provisioned mark, and the registration. The
 * gateway's check of the token comes first, in runProvision.
 */
export async function provisionDevice(
    device: ProvisionableDevice,
    before: DeviceState,
    plan: ProvisionPlan,
    out: Record<string, unknown>,
    say: Say
) {
    refuseIfUnfit(device, before, plan, say)
    await configureDevice(device, plan, out, say)
    const succession = before.provisioned
    if (succession && before.signingKey && before.signingKey.forThisChain) await signBeforeSuccession(device, plan, out, say)
    const key0 = newKey0()
    // D_0: to the owner's key file first, then to the device; never to the gateway.
    const dataKey0 = plan.dataKeyFile ? newKey0() : undefined
    if (dataKey0) {
        writeDataKeyFile(plan.dataKeyFile!, dataKey0)
        say("wrote the data key to " + plan.dataKeyFile + " (mode 0600): only its holder can read this chain's readings")
    }
    try {
        const proof = await startChainOnDevice({
            settings: device.settings,
            crypto: nobleCrypto,
            deviceId: device.id,
            key0,
            dataKey0,
            restartProgram: () => device.restartProgram(),
            timeoutMs: plan.timeoutS * 1000,
        })
        out.genesisLink = proof.link
        if (succession && before.chain && proof.link !== before.chain.headHash)
            say("note: the device sealed more blocks before restarting; the successor links to head " + proof.link.slice(0, 16))
        say(
            "the device sealed a new genesis block under the new key" +
                (/^0+$/.test(proof.link) ? "" : " (successor of head " + proof.link.slice(0, 16) + ")") +
                "; the key is deleted from the device"
        )
        out.encrypted = !!proof.encrypted
        out.dataKeyFile = plan.dataKeyFile ?? null
        if (proof.encrypted) say("the device encrypts every data block's readings; the gateway will hold ciphertext")
        out.publicKey = proof.publicKey ?? null
        say(
            proof.publicKey
                ? "the device drew its signing key: fingerprint " +
                      publicKeyFingerprint(Buffer.from(proof.publicKey, "hex")) +
                      " (pk_0, registered with the gateway)"
                : "the device published no signing key (a firmware without signed checkpoints): its chain is verifiable with K_0 only"
        )
        await markProvisioned(device.settings, Math.floor(Date.now() / 1000))
        const registration: Registration = {
            deviceId: device.id,
            key0: key0.toString("hex"),
            label: plan.label,
            successorGenesis: succession ? proof.genesis : undefined,
        }
        if (proof.publicKey) registration.publicKey = proof.publicKey
        await deliverRegistration(plan, registration, out, say)
    } finally {
        key0.fill(0)
        if (dataKey0) dataKey0.fill(0)
    }
    out.after = await readDeviceState(device.settings, nobleCrypto, device.id)
}

export async function runProvision(argv: string[]): Promise<number> {
    const cli = commandLine(
        argv,
        {
            ...BUS_OPTIONS,
            device: { type: "string" },
            gateway: { type: "string" },
            "device-gateway": { type: "string" },
            interval: { type: "string" },
            "block-age": { type: "string" },
            backlog: { type: "string" },
            "wifi-ssid": { type: "string" },
            "wifi-password-file": { type: "string" },
            label: { type: "string" },
            "admin-token-file": { type: "string" },
            pending: { type: "string" },
            force: { type: "boolean" },
            encrypt: { type: "boolean" },
            "data-key-file": { type: "string" },
            check: { type: "boolean" },
            timeout: { type: "string" },
        },
        PROVISION_HELP
    )
    if (!cli) return 0
    const json = cli.boolean("json")
    const wanted = deviceIdOption(cli, "device")
    const out: Record<string, unknown> = { ok: true }
    const say: Say = line => {
        if (!json) console.log(line)
    }
    const plan = cli.boolean("check") ? undefined : provisionPlan(cli)
    try {
        if (!plan) await checkDevice(cli, wanted, out, say)
        else {
            await checkGatewayFirst(plan, say)
            await withBus(cli, async bus => {
                const { device, state } = await lookAt(bus, wanted, out, say)
                out.before = state
                await provisionDevice(device, state, plan, out, say)
            })
        }
    } catch (e) {
        return fail("provision", json, e)
    }
    if (json) console.log(JSON.stringify(out))
    return 0
}

export async function runRegister(argv: string[]): Promise<number> {
    const cli = commandLine(
        argv,
        {
            pending: { type: "string" },
            gateway: { type: "string" },
            "admin-token-file": { type: "string" },
            json: { type: "boolean" },
        },
        REGISTER_HELP
    )
    if (!cli) return 0
    const json = cli.boolean("json")
    const token = readAdminToken(cli.string("admin-token-file"))
    if (!token) throw new UsageError("no admin token: set FL_ADMIN_TOKEN or pass --admin-token-file FILE")
    const file = cli.string("pending") ?? DEFAULT_PENDING_FILE
    const url = gatewayOption(cli, "gateway")
    try {
        const results = await uploadPending(file, { url, adminToken: token })
        const failed = results.filter(r => r.outcome === "failed" || r.outcome === "already-registered")
        if (json) console.log(JSON.stringify({ ok: failed.length === 0, results }))
        else
            for (const r of results)
                console.log(
                    r.deviceId +
                        " -> " +
                        r.gateway +
                        ": " +
                        (r.outcome === "already-registered"
                            ? "already registered (with another key? check the device: fieldledger provision --check)"
                            : r.outcome) +
                        (r.error ? " (" + r.error + ")" : "")
                )
        if (!json) console.log(failed.length ? failed.length + " registration(s) left in " + file : "all delivered; " + file + " removed")
        return failed.length ? 1 : 0
    } catch (e) {
        return fail("register", json, e)
    }
}

export async function runDevices(argv: string[]): Promise<number> {
    const cli = commandLine(argv, BUS_OPTIONS, DEVICES_HELP, { positionals: "ignored" })
    if (!cli) return 0
    const json = cli.boolean("json")
    try {
        return await withBus(cli, async bus => {
            const list: Record<string, unknown>[] = []
            for (const d of await bus.devices()) {
                const entry: Record<string, unknown> = {
                    id: d.id,
                    description: d.description,
                    runtime: d.runtimeVersion,
                    program: d.programName,
                    programVersion: d.programVersion,
                }
                if (d.hasSettings && d.programName === FIRMWARE_PROGRAM_NAME)
                    entry.state = await readDeviceState(d.settings, nobleCrypto, d.id)
                list.push(entry)
                if (!json) {
                    console.log(describeDevice(d))
                    if (entry.state)
                        stateLines(entry.state as DeviceState)
                            .slice(0, 2)
                            .forEach(l => console.log("  " + l.trim()))
                }
            }
            if (json) console.log(JSON.stringify({ ok: true, bus: bus.description, devices: list }))
            else if (list.length === 0) console.log("no device on " + bus.description)
            return 0
        })
    } catch (e) {
        return fail("devices", json, e)
    }
}
