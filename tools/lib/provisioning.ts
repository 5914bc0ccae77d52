/**
 * Provisioning a fieldledger device, transport-independent: what a device's settings say about
 * it, the configuration written to it, the new K_0 and the proof the device started its chain
 * under it, the gateway registration and the offline pending file. The bus (tools/lib/jacdacbus.ts)
 * or a test's fake supplies the settings; `tools/provision.ts` is the command over this.
 *
 * K_0 is never printed or logged. It leaves this process only to the device (setting fl_k0,
 * which the firmware deletes once its genesis block is sealed), to the gateway (registration),
 * or, when the gateway is out of reach, to the pending file (mode 0600).
 */
import { randomBytes } from "node:crypto"
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { constantTimeEqual, toHex } from "../../src/lib/codec/bytes"
import { decodeBlock, DecodedBlock } from "../../src/lib/ledger/chain"
import { decodeHead, StoredHead } from "../../src/lib/store/chainstore"
import {
    ACK_KEY_SETTING,
    GENESIS_KEY,
    HEAD_KEY,
    PROVISIONED_DATA_KEY_SETTING,
    PROVISIONED_KEY_SETTING,
    PROVISIONED_MARK_SETTING,
} from "../../src/lib/flash/keys"
import { deleteVerified, KeyValueStore, StorageError, writeVerified } from "../../src/lib/flash/verified"
import { SIMULATOR_DEV_KEY_HEX } from "../../src/lib/ledger/devkey"
import { KEY_BYTES } from "../../src/lib/codec/format"
import { blockTag, LedgerCrypto } from "../../src/lib/ledger/keys"
import { devicePath, gatewayBase } from "../../src/lib/sync/gatewayurl"
import { isDeviceIdHex, isKeyHex } from "../../src/lib/codec/hexids"
import { FL_BACKLOG, FL_BLOCK_AGE, FL_GATEWAY, FL_INTERVAL, Setting, settingProblem, SETTINGS } from "../../src/lib/config/settings"
import { FIRMWARE_NAME } from "../../src/lib/config/firmware"
import { DeviceSigningKey, readSigningKey } from "./signingkey"

/** What provisioning needs of a device: its settings, as raw bytes (the firmware's own key-value view). */
export type DeviceSettings = KeyValueStore

/** One error class for this layer; `code` is stable for --json, `hint` says what to do. */
export class ProvisionError extends Error {
    constructor(
        readonly code: string,
        message: string,
        readonly hint?: string
    ) {
        super(message)
        this.name = "ProvisionError"
    }
}

/** The DeviceScript program name the fieldledger firmware announces (package.json "name"). */
export const FIRMWARE_PROGRAM_NAME = FIRMWARE_NAME

/** The settings provisioning writes, by ProvisionConfig field (src/lib/config/settings.ts: what the firmware reads). */
export const CONFIG_SETTINGS: Record<keyof ProvisionConfig, Setting> = {
    gatewayUrl: FL_GATEWAY,
    intervalMs: FL_INTERVAL,
    blockAgeMs: FL_BLOCK_AGE,
    backlog: FL_BACKLOG,
}

export interface ProvisionConfig {
    /** http(s)://host:port, "usb": the device syncs through `fieldledger bridge` on the host it is plugged into, or "": no sync. */
    gatewayUrl?: string
    intervalMs?: number
    blockAgeMs?: number
    backlog?: number
}

/**
 * Checks a configuration before anything is written; throws ProvisionError naming the bad value.
 * The rule is the firmware's own (settingProblem): a value refused here is one it would ignore.
 */
export function validateConfig(c: ProvisionConfig) {
    for (const [field, setting] of Object.entries(CONFIG_SETTINGS)) {
        const v = (c as Record<string, unknown>)[field]
        if (v === undefined) continue
        const problem = settingProblem(setting, v)
        if (problem !== undefined)
            throw new ProvisionError("bad-config", field + " (setting " + setting.key + ") " + JSON.stringify(v) + " " + problem)
    }
}

/** The JSON bytes of a setting as @devicescript/settings' writeSetting stores them. */
export function settingValue(value: string | number): Buffer {
    return Buffer.from(JSON.stringify(value))
}

export function parseSetting(bytes: Buffer | undefined): unknown {
    if (!bytes) return undefined
    try {
        return JSON.parse(bytes.toString("utf8"))
    } catch {
        return undefined
    }
}

export interface DeviceState {
    deviceId: string
    /** Provisioned by this tool and the chain proved (setting fl_prov). */
    provisioned: boolean
    provisionedAt?: string
    /** A provisioned K_0 is waiting for the firmware to start its chain (fl_k0 present). */
    pendingKey: boolean
    /** The chain in flash; undefined: no chain (never booted, or flash erased). */
    chain?: {
        /** Next seq to seal: blocks 0..seq-1 exist. */
        seq: number
        boot: number
        /** Blocks no gateway has acknowledged yet. */
        backlog: number
        oldestSeq: number
        /** Hash of the last sealed block (the head a successor chain links to). */
        headHash: string
        lost?: { fromSeq: number; toSeq: number }
        /** The genesis block is tagged under the public simulator development key. */
        developmentKey: boolean
        /** The head holds a data key: the chain's readings are encrypted end to end (provision --encrypt). */
        encrypted: boolean
        /** Link of the genesis block when it continues another chain. */
        previousChainHead?: string
    }
    hasAckKey: boolean
    config: Record<string, unknown>
    /** The signing key the firmware published (fl_signpk); absent: none (a firmware that does not sign). */
    signingKey?: DeviceSigningKey
}

/** Blocks in the head's backlog (without the pending loss), as ChainStore.backlogBlocks counts. */
export function backlogOf(h: StoredHead): number {
    const lost = h.loss && h.oldestSeq === 0 ? h.loss.toSeq - h.loss.fromSeq + 1 : 0
    return h.seq - h.oldestSeq - lost
}

function genesisUnder(crypto: LedgerCrypto, key0: Buffer, deviceId: Buffer, genesis: DecodedBlock | undefined): boolean {
    return !!genesis && constantTimeEqual(blockTag(crypto, key0, deviceId, genesis.content, genesis.header.link), genesis.tag)
}

async function readGenesis(settings: DeviceSettings): Promise<DecodedBlock | undefined> {
    const bytes = await settings.get(GENESIS_KEY)
    if (!bytes) return undefined
    try {
        return decodeBlock(bytes)
    } catch {
        return undefined
    }
}

/** Reads what the device's settings say: never writes, never reads out a key into the result. */
export async function readDeviceState(settings: DeviceSettings, crypto: LedgerCrypto, deviceIdHex: string): Promise<DeviceState> {
    const deviceId = Buffer.from(deviceIdHex, "hex")
    const mark = parseSetting(await settings.get(PROVISIONED_MARK_SETTING)) as { t?: number } | undefined
    const pending = await settings.get(PROVISIONED_KEY_SETTING)
    const state: DeviceState = {
        deviceId: deviceIdHex,
        provisioned: !!mark,
        pendingKey: !!pending,
        hasAckKey: !!(await settings.get(ACK_KEY_SETTING)),
        config: {},
    }
    if (mark && typeof mark.t === "number") state.provisionedAt = new Date(mark.t * 1000).toISOString()
    const rawHead = await settings.get(HEAD_KEY)
    if (rawHead) {
        let head: StoredHead
        try {
            head = decodeHead(rawHead)
        } catch (e) {
            throw new ProvisionError(
                "bad-head",
                "the device's chain head (setting " + HEAD_KEY + ") does not decode: " + (e as Error).message
            )
        }
        const genesis = await readGenesis(settings)
        state.chain = {
            seq: head.seq,
            boot: head.boot,
            backlog: backlogOf(head),
            oldestSeq: head.oldestSeq,
            headHash: toHex(head.link),
            developmentKey: genesisUnder(crypto, Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex"), deviceId, genesis),
            encrypted: !!head.dataKey,
        }
        if (head.loss) state.chain.lost = { fromSeq: head.loss.fromSeq, toSeq: head.loss.toSeq }
        if (genesis && genesis.header.link.some(b => b !== 0)) state.chain.previousChainHead = toHex(genesis.header.link)
        const signingKey = genesis ? await readSigningKey(settings, crypto, genesis) : undefined
        if (signingKey) state.signingKey = signingKey
        head.key.fill(0)
        if (head.dataKey) head.dataKey.fill(0)
    }
    for (const { key } of SETTINGS) {
        const v = parseSetting(await settings.get(key))
        if (v !== undefined) state.config[key] = v
    }
    return state
}

/** Writes each configuration setting and reads it back; a dropped write (full flash) is an error. */
export async function writeConfig(settings: DeviceSettings, c: ProvisionConfig): Promise<Record<string, unknown>> {
    validateConfig(c)
    const written: Record<string, unknown> = {}
    for (const [field, { key }] of Object.entries(CONFIG_SETTINGS)) {
        const v = (c as Record<string, string | number | undefined>)[field]
        if (v === undefined) continue
        await writeOrExplain(settings, key, settingValue(v), "setting " + key)
        written[key] = v
    }
    return written
}

/** writeVerified, its failure told as a ProvisionError "write-failed" that says what flash did. */
async function writeOrExplain(settings: DeviceSettings, key: string, value: Buffer, what: string) {
    try {
        await writeVerified(settings, key, value)
    } catch (e) {
        if (!(e instanceof StorageError)) throw e
        const why =
            e.kind === "full" ? "its flash may be full" : e.kind === "corrupt" ? "it holds other bytes than were written" : "no answer"
        throw new ProvisionError(
            "write-failed",
            "the device did not keep " + what + " (" + why + ": " + e.message + ")",
            "erase the device's settings and provision again"
        )
    }
}

export function newKey0(): Buffer {
    return randomBytes(KEY_BYTES)
}

/**
 * Writes the data owner's key file: D_0 as 64 hex digits and a newline, mode 0600, refusing to
 * overwrite a file (it may hold another chain's key). Written before D_0 goes to the device, so
 * that no chain is ever encrypted under a key nobody kept.
 */
export function writeDataKeyFile(path: string, dataKey0: Buffer) {
    try {
        writeFileSync(path, dataKey0.toString("hex") + "\n", { mode: 0o600, flag: "wx" })
    } catch (e) {
        throw new ProvisionError(
            "data-key-file",
            "cannot write the data key file " + path + ": " + (e as Error).message,
            (e as NodeJS.ErrnoException).code === "EEXIST" ? "give a new path: the file may hold another chain's data key" : undefined
        )
    }
}

export interface ChainProof {
    /** The genesis block the device sealed under K_0, hex. */
    genesis: string
    /** Its link: the previous chain's head for a successor, zeros otherwise. */
    link: string
    /** The chain's signing key pk_0 (hex), when the firmware published one for this genesis. */
    publicKey?: string
    /** The new chain's head holds a data key: its readings are encrypted. */
    encrypted?: boolean
}

/**
 * Hands K_0 to the device and waits until it proves the chain: restarts the program, then
 * polls until fl_k0 is gone and the genesis block in flash is tagged under K_0. Throws
 * ProvisionError "device-timeout" when that does not happen within `timeoutMs`.
 */
export async function startChainOnDevice(options: {
    settings: DeviceSettings
    crypto: LedgerCrypto
    deviceId: string
    key0: Buffer
    /**
     * D_0 for `--encrypt`: written (fl_d0) before K_0, so that the firmware finds it when it
     * starts the chain under K_0; without it a stale fl_d0 is deleted first. The proof then
     * also checks the new head holds a data key (a firmware without encryption ignores fl_d0).
     */
    dataKey0?: Buffer
    restartProgram(): Promise<void>
    timeoutMs?: number
    pollMs?: number
    sleep?(ms: number): Promise<void>
}): Promise<ChainProof> {
    const { settings, key0 } = options
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>(r => setTimeout(r, ms)))
    if (options.dataKey0) await writeOrExplain(settings, PROVISIONED_DATA_KEY_SETTING, options.dataKey0, "the data key")
    else if (await settings.get(PROVISIONED_DATA_KEY_SETTING)) await deleteVerified(settings, PROVISIONED_DATA_KEY_SETTING)
    await writeOrExplain(settings, PROVISIONED_KEY_SETTING, key0, "the new key")
    await options.restartProgram()
    const deadline = Date.now() + (options.timeoutMs ?? 30000)
    const id = Buffer.from(options.deviceId, "hex")
    for (;;) {
        await sleep(options.pollMs ?? 500)
        const pending = await settings.get(PROVISIONED_KEY_SETTING)
        if (pending) pending.fill(0)
        const genesis = await readGenesis(settings)
        if (!pending && genesisUnder(options.crypto, key0, id, genesis)) {
            const proof: ChainProof = { genesis: toHex(Buffer.concat([genesis.content, genesis.tag])), link: toHex(genesis.header.link) }
            if (options.dataKey0) {
                const rawHead = await settings.get(HEAD_KEY)
                const head = rawHead ? decodeHead(rawHead) : undefined
                if (!head || !head.dataKey)
                    throw new ProvisionError(
                        "no-encryption",
                        "the device started its chain without the data key: its firmware does not encrypt readings",
                        "flash a firmware with encrypted readings (fieldledger 0.2 or later) and provision again, or provision without --encrypt"
                    )
                head.dataKey.fill(0)
                proof.encrypted = true
            }
            // A signing firmware publishes pk_0 before it deletes fl_k0: it is there now or never.
            const signingKey = await readSigningKey(settings, options.crypto, genesis)
            if (signingKey && signingKey.forThisChain) proof.publicKey = signingKey.publicKey
            return proof
        }
        if (Date.now() > deadline)
            throw new ProvisionError(
                "device-timeout",
                pending
                    ? "the device did not take the new key (setting " + PROVISIONED_KEY_SETTING + " is still there)"
                    : "the device's genesis block is not under the new key",
                "is the firmware fieldledger 0.1.0 or later? Flash it again (npm run build; devs flash) and provision again"
            )
    }
}

/** Marks the device provisioned (no secret in it): the state --check and the next provision read. */
export async function markProvisioned(settings: DeviceSettings, nowSeconds: number) {
    await writeOrExplain(
        settings,
        PROVISIONED_MARK_SETTING,
        settingValue(JSON.stringify({ v: 1, t: nowSeconds })),
        "setting " + PROVISIONED_MARK_SETTING
    )
}

// ---------------------------------------------------------------- gateway

/** What the gateway is told: the device, its K_0, and for a successor chain what it succeeds. */
export interface Registration {
    deviceId: string
    /** 64 hex digits. Secret. */
    key0: string
    label?: string
    /** Key succession: the new chain's genesis block (hex), linking to the previous head. */
    successorGenesis?: string
    /** The chain's signing public key pk_0 (64 hex digits), if the device has one. Not secret. */
    publicKey?: string
}

export type FetchLike = (
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }
) => Promise<{ status: number; text(): Promise<string> }>

export interface GatewayTarget {
    url: string
    adminToken?: string
    /** A read token (reads only; docs/API.md, "Access"): used when no admin token is given. */
    readToken?: string
    fetch?: FetchLike
    timeoutMs?: number
}

export type RegisterOutcome = "registered" | "already-registered" | "succeeded"

async function call(target: GatewayTarget, method: string, path: string, body?: unknown): Promise<{ status: number; doc: any }> {
    const f = target.fetch ?? (globalThis.fetch as unknown as FetchLike)
    const headers: Record<string, string> = { accept: "application/json" }
    const token = target.adminToken ?? target.readToken
    if (token) headers.authorization = "Bearer " + token
    if (body !== undefined) headers["content-type"] = "application/json"
    let res
    try {
        res = await f(gatewayBase(target.url) + path, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(target.timeoutMs ?? 10000),
        })
    } catch (e) {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause
        throw new ProvisionError(
            "gateway-unreachable",
            "the gateway at " + target.url + " is unreachable: " + (cause?.code ?? cause?.message ?? (e as Error).message),
            "check the URL and the network"
        )
    }
    const text = await res.text()
    let doc: any
    try {
        doc = JSON.parse(text)
    } catch {
        doc = undefined
    }
    if (res.status === 401 && !target.adminToken)
        throw new ProvisionError(
            "no-token",
            "the gateway needs a token to answer " + method + " " + path + (target.readToken ? ": it refused the read token" : ""),
            "set FL_READ_TOKEN to a read token ('fieldledger gateway token create --read' on the gateway) or FL_ADMIN_TOKEN to the admin token"
        )
    if (res.status === 401)
        throw new ProvisionError(
            "bad-token",
            "the gateway refused the admin token",
            "set FL_ADMIN_TOKEN or --admin-token-file to the gateway's admin token"
        )
    return { status: res.status, doc }
}

/**
 * Registers the device and its K_0 (POST /v1/devices). For a successor chain the device is
 * already registered: the gateway's key succession route (tools/gateway/succession.ts) closes
 * the old chain and takes the new K_0 and genesis.
 */
export async function registerWithGateway(target: GatewayTarget, r: Registration): Promise<RegisterOutcome> {
    if (!target.adminToken)
        throw new ProvisionError("no-token", "no admin token for the gateway", "set FL_ADMIN_TOKEN or pass --admin-token-file FILE")
    if (r.successorGenesis) {
        const succession: Record<string, string> = { key0: r.key0, genesis: r.successorGenesis }
        if (r.publicKey) succession.publicKey = r.publicKey
        const { status, doc } = await call(target, "POST", devicePath(r.deviceId) + "/succession", succession)
        if (status === 200 || status === 201) return "succeeded"
        if (status === 404 && doc?.error === "unknown-device")
            return registerWithGateway(target, { deviceId: r.deviceId, key0: r.key0, label: r.label, publicKey: r.publicKey })
        throw new ProvisionError(
            "gateway-refused",
            "the gateway refused the key succession (" + status + (doc?.error ? " " + doc.error : "") + "): " + (doc?.message ?? "")
        )
    }
    const body: Record<string, string> = { deviceId: r.deviceId, key0: r.key0 }
    if (r.label) body.label = r.label
    if (r.publicKey) body.publicKey = r.publicKey
    const { status, doc } = await call(target, "POST", "/v1/devices", body)
    if (status === 201) return "registered"
    if (status === 409) return "already-registered"
    throw new ProvisionError(
        "gateway-refused",
        "the gateway refused the registration (" + status + (doc?.error ? " " + doc.error : "") + "): " + (doc?.message ?? "")
    )
}

/**
 * Asks the gateway whether it takes the admin token (GET /v1/admin/check), before anything is
 * written to a device: a wrong token must not strand a device under a key nobody holds.
 * Throws ProvisionError bad-token when refused; "unreachable" (offline provisioning goes on,
 * the registration will be pending) and "cannot-check" (a gateway without the route) are for
 * the caller to report.
 */
export async function checkAdminToken(target: GatewayTarget): Promise<"accepted" | "unreachable" | "cannot-check"> {
    if (!target.adminToken)
        throw new ProvisionError("no-token", "no admin token for the gateway", "set FL_ADMIN_TOKEN or pass --admin-token-file FILE")
    let status: number
    try {
        ;({ status } = await call(target, "GET", "/v1/admin/check"))
    } catch (e) {
        if (e instanceof ProvisionError && e.code === "gateway-unreachable") return "unreachable"
        throw e
    }
    if (status === 200) return "accepted"
    if (status === 404) return "cannot-check"
    throw new ProvisionError("gateway-refused", "the gateway answered " + status + " to the admin token check")
}

export interface GatewayView {
    known: boolean
    /** Highest seq the gateway holds with everything before it: what it acknowledges. */
    ackedSeq?: number
    headHash?: string
    lastSeen?: string | null
    reportedBacklog?: number | null
    /** The signing key the gateway holds and how far the chain is signed; null: none registered. */
    signing?: { fingerprint: string; signedTo: number | null } | null
}

/** What the gateway knows of a device (GET /v1/devices/:id; a read token or the admin token). */
export async function gatewayView(target: GatewayTarget, deviceId: string): Promise<GatewayView> {
    const { status, doc } = await call(target, "GET", devicePath(deviceId))
    if (status === 404) return { known: false }
    if (status !== 200 || !doc) throw new ProvisionError("gateway-refused", "the gateway answered " + status + " for device " + deviceId)
    return {
        known: true,
        ackedSeq: doc.head ? doc.head.seq : -1,
        headHash: doc.head ? doc.head.hash : undefined,
        lastSeen: doc.lastSeen,
        reportedBacklog: doc.reportedBacklog,
        signing: doc.signing ? { fingerprint: doc.signing.fingerprint, signedTo: doc.signing.signedTo } : null,
    }
}

// ---------------------------------------------------------------- pending file

export const PENDING_FORMAT = "fieldledger-pending-registrations"
export const DEFAULT_PENDING_FILE = "pending-registrations.json"

export interface PendingFile {
    format: typeof PENDING_FORMAT
    version: 1
    /** The gateway each registration is for. */
    registrations: (Registration & { gateway: string; createdAt: string })[]
}

export function readPendingFile(path: string): PendingFile {
    let doc: any
    try {
        doc = JSON.parse(readFileSync(path, "utf8"))
    } catch (e) {
        throw new ProvisionError("bad-pending-file", "cannot read pending file " + path + ": " + (e as Error).message)
    }
    if (!doc || doc.format !== PENDING_FORMAT || doc.version !== 1 || !Array.isArray(doc.registrations))
        throw new ProvisionError("bad-pending-file", path + " is not a fieldledger pending-registrations file")
    for (const r of doc.registrations)
        if (
            !isDeviceIdHex(r?.deviceId) ||
            !isKeyHex(r.key0) ||
            typeof r.gateway !== "string" ||
            (r.publicKey !== undefined && !isKeyHex(r.publicKey))
        )
            throw new ProvisionError("bad-pending-file", path + " holds a malformed registration")
    return doc as PendingFile
}

/** Writes the file whole (temp file, then rename) with mode 0600: it holds K_0s. */
export function writePendingFile(path: string, file: PendingFile) {
    const tmp = path + ".tmp"
    writeFileSync(tmp, JSON.stringify(file, null, 1) + "\n", { mode: 0o600 })
    chmodSync(tmp, 0o600)
    renameSync(tmp, path)
}

/** Adds a registration for later upload (replacing an older one of the same device and gateway). */
export function addPendingRegistration(path: string, gateway: string, r: Registration, now: Date = new Date()) {
    const file: PendingFile = existsSync(path) ? readPendingFile(path) : { format: PENDING_FORMAT, version: 1, registrations: [] }
    file.registrations = file.registrations.filter(p => !(p.deviceId === r.deviceId && p.gateway === gateway))
    file.registrations.push({ ...r, gateway, createdAt: now.toISOString() })
    writePendingFile(path, file)
}

export interface UploadResult {
    deviceId: string
    gateway: string
    outcome: RegisterOutcome | "failed"
    error?: string
}

/**
 * Uploads every pending registration; those that reached their gateway leave the file (the
 * file is deleted when none remains), the others stay for the next try.
 */
export async function uploadPending(path: string, target: Omit<GatewayTarget, "url"> & { url?: string }): Promise<UploadResult[]> {
    const file = readPendingFile(path)
    const results: UploadResult[] = []
    const left: PendingFile["registrations"] = []
    for (const r of file.registrations) {
        const gateway = target.url ?? r.gateway
        try {
            const outcome = await registerWithGateway({ ...target, url: gateway }, r)
            results.push({ deviceId: r.deviceId, gateway, outcome })
        } catch (e) {
            if (!(e instanceof ProvisionError)) throw e
            if (e.code === "bad-token" || e.code === "no-token") throw e
            results.push({ deviceId: r.deviceId, gateway, outcome: "failed", error: e.message })
            left.push(r)
        }
    }
    file.registrations = left
    if (left.length === 0) rmSync(path, { force: true })
    else writePendingFile(path, file)
    return results
}
