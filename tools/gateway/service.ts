/**
 * The gateway's logic over its store: registering devices, ingesting batches (verification by
 * the pure ingest module, one transaction per request), the signed ack, and the read views the
 * routes serve. No HTTP here; app.ts maps it to routes and errors to statuses.
 */
import { createHash } from "node:crypto"
import { constantTimeEqual, FormatError, toHex } from "../../src/lib/codec/bytes"
import { decodeBlock } from "../../src/lib/ledger/chain"
import { ChannelSpec, DEVICE_ID_BYTES, KEY_BYTES, LINK_BYTES } from "../../src/lib/codec/format"
import { LedgerCrypto } from "../../src/lib/ledger/keys"
import { Reading } from "../../src/lib/codec/readings"
import { Ack, ackTag, BATCH_HEADER_BYTES, BATCH_NONCE_BYTES, BATCH_VERSION, decodeBatch, deriveAckKey, MAX_BATCH_BYTES } from "../../src/lib/sync/syncwire"
import { blockEndTime, initialVerifierState, VerifierState } from "../../src/lib/ledger/verify"
import { nodeCrypto } from "../lib/crypto"
import { formatExport } from "../lib/exportfile"
import { BLOCK_PERIOD_WINDOW, blockPeriodMs } from "./cadence"
import { EpochKeyCache } from "./epochkeys"
import { DEVICE_ID_PATTERN } from "../lib/args"
import { HttpError } from "./errors"
import { ingestBatch, IngestResult } from "./ingest"
import { KeyVault } from "./keyvault"
import { BlockRecord, DeviceRecord, GatewayStore } from "./store"

/**
 * Ingest verifies with node:crypto (OpenSSL), not @noble/hashes: measured with `npm run bench
 * -- --only gateway` (2-core machine), the same verification ran 1.2-1.4x faster with
 * node:crypto (2.4-2.7M against 1.9-2.2M readings/s): each block costs three small HMAC or
 * SHA-256 calls, where OpenSSL's compression function beats pure JS. Either verifies the same
 * way (the verifier is the shared src/lib code); noble stays the reference elsewhere.
 */
export const INGEST_CRYPTO: LedgerCrypto = nodeCrypto

export { DEVICE_ID_PATTERN }
const RECORD_NAMES = ["genesis", "data", "gap"]
/** Meta entry that checks the master key opens this database's keys. */
const MASTER_CHECK = "master-key-check"
const MASTER_CHECK_AD = Buffer.from("fieldledger/gateway/master-key-check")

export interface RegisterDevice {
    /** 16 lowercase hex digits. */
    deviceId: string
    /** K_0 as 64 hex digits. */
    key0: string
    label?: string
}

/** What the gateway keeps in memory per device: K_0's derivatives and the verifier's state. */
interface DeviceSession {
    id: Buffer
    key0: Buffer
    ackKey: Buffer
    state: VerifierState
    epochKeys: EpochKeyCache
}

export interface IngestReply {
    status: 200 | 409 | 422
    body: Record<string, unknown>
}

function iso(ms: number | null): string | null {
    return ms === null || ms === undefined ? null : new Date(ms).toISOString()
}

/** x * 10^e as the double nearest the decimal value (division by an exact power of ten). */
export function physicalValue(x: number, exponent: number): number {
    return exponent < 0 ? x / Math.pow(10, -exponent) : x * Math.pow(10, exponent)
}

export interface ReadingRow {
    seq: number
    boot: number
    uptimeMs: number
    unixTime?: number
    values: (number | null)[]
}

export interface GatewayServiceOptions {
    store: GatewayStore
    masterKey: Buffer
    crypto?: LedgerCrypto
    /** Clock in unix milliseconds (tests fix it). */
    now?: () => number
}

export class GatewayService {
    readonly store: GatewayStore
    private readonly vault: KeyVault
    private readonly crypto: LedgerCrypto
    private readonly now: () => number
    private readonly sessions = new Map<string, DeviceSession>()

    constructor(options: GatewayServiceOptions) {
        this.store = options.store
        this.vault = new KeyVault(options.masterKey)
        this.crypto = options.crypto ?? INGEST_CRYPTO
        this.now = options.now ?? Date.now
        // The first master key used with a database is the only one that opens it.
        const check = this.store.metaGet(MASTER_CHECK)
        if (check) this.vault.open(check, MASTER_CHECK_AD)
        else this.store.metaSet(MASTER_CHECK, this.vault.seal(Buffer.alloc(0), MASTER_CHECK_AD))
    }

    /** Registers a device; HttpError 400 on a bad id or key, 409 if already registered. */
    register(input: RegisterDevice): DeviceRecord {
        if (typeof input?.deviceId !== "string" || !DEVICE_ID_PATTERN.test(input.deviceId))
            throw new HttpError(400, "bad-request", '"deviceId" must be ' + DEVICE_ID_BYTES * 2 + " lowercase hex digits")
        if (typeof input.key0 !== "string" || !/^[0-9a-fA-F]{64}$/.test(input.key0))
            throw new HttpError(400, "bad-request", '"key0" must be ' + KEY_BYTES * 2 + " hex digits")
        if (input.label !== undefined && (typeof input.label !== "string" || input.label.length > 200))
            throw new HttpError(400, "bad-request", '"label" must be a string of at most 200 characters')
        const id = Buffer.from(input.deviceId, "hex")
        const sealed = this.vault.seal(Buffer.from(input.key0, "hex"), id)
        if (!this.store.insertDevice(input.deviceId, input.label ?? null, sealed, this.now()))
            throw new HttpError(409, "already-registered", "device " + input.deviceId + " is already registered")
        return this.store.device(input.deviceId)
    }

    /** K_0 sealed under the master key, as the store keeps it (for a key succession). */
    sealDeviceKey(id: Buffer, key0: Buffer): Buffer {
        return this.vault.seal(key0, id)
    }

    /** Drops the cached verifier state: the store changed underneath it (a key succession). */
    forgetSession(idHex: string) {
        this.sessions.delete(idHex)
    }

    private device(idHex: string): DeviceRecord {
        const d = DEVICE_ID_PATTERN.test(idHex) ? this.store.device(idHex) : undefined
        if (!d) throw new HttpError(404, "unknown-device", "no device " + idHex + " is registered")
        return d
    }

    /** The cached session, rebuilt from the store (K_head derived from K_0) when absent. */
    private session(d: DeviceRecord): DeviceSession {
        const cached = this.sessions.get(d.id)
        if (cached) return cached
        const id = Buffer.from(d.id, "hex")
        const key0 = this.vault.open(d.key0Sealed, id)
        const epochKeys = new EpochKeyCache(this.crypto, id, key0)
        let state = initialVerifierState(key0)
        if (d.headSeq >= 0) {
            const head = decodeBlock(this.store.blockAt(d.id, d.headSeq).bytes)
            const genesis = decodeBlock(this.store.blockAt(d.id, 0).bytes)
            state = {
                expectedSeq: d.headSeq + 1,
                link: d.headHash,
                key: epochKeys.keyAt(d.headSeq + 1),
                channelCount: genesis.genesis.channels.length,
                last: blockEndTime(head.header),
                version: head.header.version,
            }
        }
        const s: DeviceSession = { id, key0, ackKey: deriveAckKey(this.crypto, key0, id), state, epochKeys }
        this.sessions.set(d.id, s)
        return s
    }

    private signedAck(s: DeviceSession, nonce: Buffer): Record<string, unknown> {
        const ack: Ack = {
            ack: s.state.expectedSeq - 1,
            head: s.state.link && s.state.expectedSeq > 0 ? s.state.link : Buffer.alloc(LINK_BYTES),
            time: Math.floor(this.now() / 1000),
        }
        return { ack: ack.ack, head: toHex(ack.head), time: ack.time, tag: toHex(ackTag(this.crypto, s.ackKey, s.id, nonce, ack)) }
    }

    /**
     * Ingests a batch body for a device. `body` may be cut short at MAX_BATCH_BYTES + 1 bytes
     * with `oversize` set. Every reply for a known device carries the ack signed with the
     * batch's nonce when the body starts with a batch header (a body that does not has no nonce
     * to sign). Errors are thrown as HttpError with the ack in `extra`.
     */
    ingest(idHex: string, body: Buffer, options: { oversize?: boolean; backlog?: string } = {}): IngestReply {
        const d = this.device(idHex)
        const s = this.session(d)
        const nonce = body.length >= BATCH_HEADER_BYTES && body[0] === BATCH_VERSION ? body.subarray(1, 1 + BATCH_NONCE_BYTES) : undefined
        const ackFields = () => (nonce ? this.signedAck(s, nonce) : {})
        if (options.oversize) throw new HttpError(413, "too-large", "a batch is at most " + MAX_BATCH_BYTES + " bytes", ackFields())
        const backlog = options.backlog
        if (backlog !== undefined && !/^\d{1,9}$/.test(backlog))
            throw new HttpError(400, "bad-request", "backlog must be a whole number of blocks", ackFields())
        let blocks: Buffer[]
        try {
            blocks = decodeBatch(body).blocks
        } catch (e) {
            if (e instanceof FormatError) throw new HttpError(400, "malformed-batch", "the body is not a batch: " + e.message, ackFields())
            throw e
        }
        let result: IngestResult
        try {
            result = ingestBatch(
                {
                    crypto: this.crypto,
                    deviceId: s.id,
                    state: s.state,
                    stored: seq => this.store.blockAt(d.id, seq) as { bytes: Buffer; hash: Buffer } | undefined,
                    epochKey: seq => s.epochKeys.keyAt(seq),
                },
                blocks
            )
            this.store.commitBatch({
                deviceId: d.id,
                now: this.now(),
                blocks: result.store,
                events: result.events,
                // Seen only when something new arrived: a batch of re-deliveries is acked (the
                // device may have missed the first ack) but anyone who captured a batch can
                // replay it, so it must not make a silent device look alive.
                seen: result.store.length > 0 ? { backlog: backlog === undefined ? undefined : Number(backlog) } : undefined,
            })
        } catch (e) {
            // The store is the source of truth: rebuild the session from it next time.
            this.sessions.delete(d.id)
            throw e
        }
        s.state = result.state
        const counts = { stored: result.store.length, duplicates: result.duplicates }
        if (result.stop) {
            const st = result.stop
            const extra: Record<string, unknown> = { ...ackFields(), ...counts }
            if (st.seq !== undefined) extra.seq = st.seq
            if (st.expected !== undefined) extra.expected = st.expected
            throw new HttpError(st.status, st.code, st.message, extra)
        }
        return { status: 200, body: { ...ackFields(), ...counts } }
    }

    /**
     * One device's summary, as the fleet list and the device route show it. `blockPeriodMs`
     * costs one query of the newest few blocks (cadence.ts); none before two blocks are stored.
     */
    deviceView(d: DeviceRecord): Record<string, unknown> {
        return {
            deviceId: d.id,
            label: d.label,
            registeredAt: iso(d.registeredAt),
            lastSeen: iso(d.lastSeen),
            blockPeriodMs: d.blockCount >= 2 ? blockPeriodMs(this.store.recentBlockTimes(d.id, BLOCK_PERIOD_WINDOW)) : null,
            head: d.headSeq >= 0 ? { seq: d.headSeq, hash: toHex(d.headHash) } : null,
            blocks: d.blockCount,
            readings: d.readings,
            reportedBacklog: d.reportedBacklog,
            gapRecords: d.gapRecords,
            readingsLost: d.readingsLost,
            blocksLost: d.blocksLost,
            securityEvents: d.events,
        }
    }

    fleet(): Record<string, unknown>[] {
        return this.store.devices().map(d => this.deviceView(d))
    }

    deviceDetail(idHex: string): Record<string, unknown> {
        const d = this.device(idHex)
        const view = this.deviceView(d)
        const g = d.headSeq >= 0 ? decodeBlock(this.store.blockAt(d.id, 0).bytes).genesis : undefined
        return { ...view, firmware: g?.firmware ?? null, board: g?.board ?? null, channels: g?.channels ?? null }
    }

    /** The chain as the verifier's export file (docs/FORMAT.md, "Export file"), with its head. */
    exportChain(idHex: string): string {
        const d = this.device(idHex)
        const blocks = this.store.allBlockBytes(d.id)
        return formatExport({ deviceId: Buffer.from(d.id, "hex"), blocks, head: d.headSeq >= 0 ? { seq: d.headSeq, hash: d.headHash } : undefined })
    }

    blockList(idHex: string, range: { fromSeq?: number; toSeq?: number; limit?: number }): Record<string, unknown>[] {
        const d = this.device(idHex)
        return this.store.blocks(d.id, range).map((b: BlockRecord) => {
            const row: Record<string, unknown> = {
                seq: b.seq,
                type: RECORD_NAMES[b.type],
                boot: b.boot,
                uptimeMs: b.uptimeMs,
                unixTime: b.unixTime,
                readings: b.readingCount,
                hash: toHex(b.hash).slice(0, 16),
                receivedAt: iso(b.receivedAt),
            }
            if (b.type === 2) {
                row.lostReadings = b.lostReadings
                row.lostBlocks = b.lostBlocks
            }
            return row
        })
    }

    /** Decoded readings with physical values (x * 10^exponent of the genesis layout). */
    readings(idHex: string, range: { fromSeq?: number; toSeq?: number }): { deviceId: string; channels: ChannelSpec[]; readings: ReadingRow[] } {
        const d = this.device(idHex)
        if (d.headSeq < 0) return { deviceId: d.id, channels: [], readings: [] }
        const channels = decodeBlock(this.store.blockAt(d.id, 0).bytes).genesis.channels
        const rows: ReadingRow[] = []
        for (const b of this.store.blocks(d.id, { ...range, withBytes: true })) {
            if (b.readingCount === 0) continue
            const block = decodeBlock(b.bytes)
            const h = block.header
            block.readings.forEach((r: Reading, i: number) => {
                const offset = i * h.intervalMs
                const row: ReadingRow = { seq: h.seq, boot: h.time.boot, uptimeMs: h.time.uptimeMs + offset, values: r.map((x, c) => (x === null ? null : physicalValue(x, channels[c].exponent))) }
                if (h.time.unixTime !== undefined) row.unixTime = h.time.unixTime + offset / 1000
                rows.push(row)
            })
        }
        return { deviceId: d.id, channels, readings: rows }
    }

    readingsCsv(idHex: string, range: { fromSeq?: number; toSeq?: number }): string {
        const { channels, readings } = this.readings(idHex, range)
        const quote = (s: string) => (/[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s)
        const header = ["seq", "boot", "uptimeMs", "unixTime", ...channels.map(c => quote(c.name + " (" + c.unit + ")"))]
        const lines = [header.join(",")]
        for (const r of readings)
            lines.push([r.seq, r.boot, r.uptimeMs, r.unixTime ?? "", ...r.values.map(v => (v === null ? "" : String(v)))].join(","))
        return lines.join("\n") + "\n"
    }

    events(idHex: string): Record<string, unknown>[] {
        const d = this.device(idHex)
        return this.store.events(d.id).map(e => ({ id: e.id, time: iso(e.time), kind: e.kind, seq: e.seq, message: e.message, block: e.block ? toHex(e.block) : null }))
    }

    health(): Record<string, unknown> {
        return { ok: true, devices: this.store.counts().devices }
    }
}

/** Compares two secrets in constant time (hashed first, so their lengths do not show either). */
export function tokensEqual(given: string, expected: string): boolean {
    const digest = (s: string) => createHash("sha256").update(s).digest()
    return constantTimeEqual(digest(given), digest(expected))
}
