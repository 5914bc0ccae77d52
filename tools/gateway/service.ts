/**
 * The gateway's logic over its store: registering devices, ingesting batches (verification by
 * the pure ingest module, one transaction per request), the signed ack, and the read views the
 * routes serve. No HTTP here; app.ts maps it to routes and errors to statuses.
 */
import { FormatError, toHex } from "../../src/lib/codec/bytes"
import { decodeBlock } from "../../src/lib/ledger/chain"
import { BlockTime, ChannelSpec, GAP_REASONS, LINK_BYTES, RECORD_GAP, RECORD_NAMES } from "../../src/lib/codec/format"
import { DEVICE_ID_TEXT, isDeviceIdHex, isKeyHex, KEY_TEXT, parseKeyHex } from "../../src/lib/codec/hexids"
import { LedgerCrypto } from "../../src/lib/ledger/keys"
import {
    Ack,
    ackTag,
    BATCH_HEADER_BYTES,
    BATCH_NONCE_BYTES,
    BATCH_VERSION,
    decodeBatch,
    deriveAckKey,
    MAX_BATCH_BYTES,
} from "../../src/lib/sync/syncwire"
import { blockEndTime, initialVerifierState, VerifierState } from "../../src/lib/ledger/verify"
import { nodeCrypto } from "../lib/crypto"
import { publicKeyFingerprint, verifyEd25519 } from "../lib/ed25519"
import type { SigningState } from "../../src/lib/ledger/signedverify"
import { exportPieces } from "../lib/exportfile"
import { blockReadingRows, ReadingRow } from "../lib/readingrows"
import { csvHeader, csvLine } from "../lib/readingscsv"
import { BLOCK_PERIOD_WINDOW, blockPeriodMs } from "./cadence"
import { EpochKeyCache } from "./epochkeys"
import { backlogAfterAck, batchSeqs } from "./backlogleft"
import { echo, HttpError } from "./errors"
import { highestKeyNeeded, ingestBatch, IngestResult, preparedLookup, storedSeqsNeeded } from "./ingest"
import { KeyVault } from "./keyvault"
import { BlockRecord, DeviceRecord, DeviceTransaction, GatewayStore } from "./store"
import { LogIntegrator } from "./tlog/integrator"
import type { LogIdentity } from "./tlog/logkey"
import { LogReader } from "./tlog/logreader"
import { signReceipt } from "./tlog/receipt"

/**
 * Ingest verifies with node:crypto (OpenSSL), not @noble/hashes: measured with `npm run bench
 * -- --only gateway` (2-core machine), the same verification ran 1.2-1.4x faster with
 * node:crypto (2.4-2.7M against 1.9-2.2M readings/s): each block costs three small HMAC or
 * SHA-256 calls, where OpenSSL's compression function beats pure JS. Either verifies the same
 * way (the verifier is the shared src/lib code); noble stays the reference elsewhere.
 */
export const INGEST_CRYPTO: LedgerCrypto = nodeCrypto

/** Half of a UTF-16 surrogate pair without its other half: not text (String.isWellFormed, ES2024). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
/** Meta entry that checks the master key opens this database's keys. */
const MASTER_CHECK = "master-key-check"
const MASTER_CHECK_AD = Buffer.from("fieldledger/gateway/master-key-check")

export interface RegisterDevice {
    /** 16 lower-case hex digits (src/lib/codec/hexids.ts). */
    deviceId: string
    /** K_0 as 64 hex digits, either case. */
    key0: string
    label?: string
    /** The chain's signing public key pk_0 as 64 hex digits (the device drew it; docs/PROVISIONING.md, "Signing key"). */
    publicKey?: string
}

/** A public key given as 64 hex digits (absent: undefined); HttpError 400 otherwise. */
export function parsePublicKeyField(value: unknown): Buffer | undefined {
    if (value === undefined) return undefined
    if (!isKeyHex(value)) throw new HttpError(400, "bad-request", '"publicKey" must be the Ed25519 public key as 64 hex digits')
    return Buffer.from(value as string, "hex")
}

/** A signing key and what public verification established, as the API shows it (docs/API.md). */
export function signingView(publicKey0: Buffer, state: SigningState): Record<string, unknown> {
    return {
        fingerprint: publicKeyFingerprint(publicKey0),
        publicKey0: toHex(publicKey0),
        signedTo: state.signedSeq >= 0 ? state.signedSeq : null,
        keyIndex: state.keyIndex,
        currentKeyFingerprint: state.publicKey ? publicKeyFingerprint(state.publicKey) : null,
        broken: state.broken ?? null,
    }
}

/**
 * What the gateway keeps in memory per device: K_0's derivatives and the verifier's state after
 * the head it last saw. Another gateway on the same database may have moved the head since (or
 * replaced K_0): `ingest` compares with the locked device row and rebuilds when it did.
 */
interface DeviceSession {
    id: Buffer
    /** K_0 as the store held it sealed when the session was built. */
    key0Sealed: Buffer
    key0: Buffer
    ackKey: Buffer
    state: VerifierState
    epochKeys: EpochKeyCache
    /** The signed-checkpoint state after the stored head; undefined: no signing key registered. */
    signing?: SigningState
}

export interface IngestReply {
    status: 200 | 409 | 422
    body: Record<string, unknown>
}

function iso(ms: number | null): string | null {
    return ms === null || ms === undefined ? null : new Date(ms).toISOString()
}

/** Blocks a streamed answer reads from the store per event loop turn (a few ms of work each). */
const EXPORT_PAGE_BLOCKS = 256
const LIST_PAGE_BLOCKS = 256
const READINGS_PAGE_BLOCKS = 64
/** The most blocks one readings or blocks request covers; the answer's `next` says where to go on. */
export const MAX_BLOCKS_PER_REQUEST = 100_000

/** One block's row in the block list (with `bytes`, its stored bytes in hex, when they were read). */
function blockView(b: BlockRecord): Record<string, unknown> {
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
    if (b.type === RECORD_GAP) {
        row.lostReadings = b.lostReadings
        row.lostBlocks = b.lostBlocks
    }
    if (b.bytes) row.bytes = toHex(b.bytes)
    return row
}

/** A stored block's readings, one row each (tools/lib/readingrows.ts); encrypted ones without values, as the gateway has no data key. */
function readingRows(b: BlockRecord, channels: ChannelSpec[]): ReadingRow[] {
    if (b.readingCount === 0) return []
    const block = decodeBlock(b.bytes)
    return blockReadingRows(block.header, block.readings, channels)
}

/** `prefix`, the pages' items as a JSON array's elements, then `]`, `"next": N` if given, and `}`. */
async function* jsonArrayStream<T>(
    prefix: string,
    pages: AsyncIterable<T[]>,
    view: (item: T) => unknown,
    next?: number
): AsyncGenerator<string> {
    yield prefix
    let first = true
    for await (const page of pages) {
        if (page.length === 0) continue
        yield (first ? "" : ",") + page.map(item => JSON.stringify(view(item))).join(",")
        first = false
    }
    yield "]" + (next === undefined ? "" : ',"next":' + next) + "}"
}

/** A gap record as the API shows it (docs/API.md, "Gap records"). */
export interface GapView {
    seq: number
    reason: string
    lostReadings: number
    lostBlocks: number
    firstLostSeq: number
    /** Start of the loss. */
    from: BlockTime
    /** When the gap record was sealed. */
    time: BlockTime
}

export interface GatewayServiceOptions {
    store: GatewayStore
    masterKey: Buffer
    crypto?: LedgerCrypto
    /** Clock in unix milliseconds (tests fix it). */
    now?: () => number
    /**
     * The log key and origin: the gateway signs checkpoints and receipts (tlog/). Without it,
     * blocks still get their leaves, but nothing is signed or served until a gateway with the
     * key integrates them.
     */
    log?: LogIdentity
}

export class GatewayService {
    readonly store: GatewayStore
    private readonly vault: KeyVault
    /** The crypto every check of this gateway uses (ingest and key succession). */
    readonly crypto: LedgerCrypto
    private readonly now: () => number
    private readonly sessions = new Map<string, DeviceSession>()
    /** Each device's epoch key grid (epochkeys.ts), kept across sessions until K_0 changes. */
    private readonly keyCaches = new Map<string, { key0Sealed: Buffer; cache: EpochKeyCache }>()
    /** The transparency log's public side (routes in tlog/logroutes.ts). */
    readonly logReader: LogReader
    /** Signs checkpoints; undefined without a log key. */
    readonly logIntegrator: LogIntegrator | undefined
    readonly logIdentity: LogIdentity | undefined

    constructor(options: GatewayServiceOptions) {
        this.store = options.store
        this.logReader = new LogReader(options.store.log)
        this.logIdentity = options.log
        this.logIntegrator = options.log
            ? new LogIntegrator({ store: options.store.log, signer: options.log.signer, origin: options.log.origin, now: options.now })
            : undefined
        this.vault = new KeyVault(options.masterKey)
        this.crypto = options.crypto ?? INGEST_CRYPTO
        this.now = options.now ?? Date.now
    }

    /** A service over `store`, once the master key is known to open it (KeyVaultError if not). */
    static async open(options: GatewayServiceOptions): Promise<GatewayService> {
        const service = new GatewayService(options)
        await service.checkMasterKey()
        return service
    }

    /** The first master key used with a database is the only one that opens it (whichever gateway came first). */
    private async checkMasterKey() {
        const check =
            (await this.store.metaGet(MASTER_CHECK)) ??
            (await this.store.metaInit(MASTER_CHECK, this.vault.seal(Buffer.alloc(0), MASTER_CHECK_AD)))
        this.vault.open(check, MASTER_CHECK_AD)
    }

    /** Registers a device; HttpError 400 on a bad id or key, 409 if already registered. */
    async register(input: RegisterDevice): Promise<DeviceRecord> {
        if (!isDeviceIdHex(input?.deviceId)) throw new HttpError(400, "bad-request", '"deviceId" must be ' + DEVICE_ID_TEXT)
        if (!isKeyHex(input.key0)) throw new HttpError(400, "bad-request", '"key0" must be ' + KEY_TEXT)
        // A lone surrogate half is not text: it has no UTF-8 form, so it would be stored, and read back, as U+FFFD.
        if (input.label !== undefined && (typeof input.label !== "string" || input.label.length > 200 || LONE_SURROGATE.test(input.label)))
            throw new HttpError(400, "bad-request", '"label" must be well-formed text of at most 200 characters')
        const publicKey0 = parsePublicKeyField(input.publicKey)
        const id = Buffer.from(input.deviceId, "hex")
        const sealed = this.vault.seal(parseKeyHex(input.key0, "key0"), id)
        if (!(await this.store.insertDevice(input.deviceId, input.label ?? null, sealed, this.now())))
            throw new HttpError(409, "already-registered", "device " + input.deviceId + " is already registered")
        if (publicKey0) await this.store.setSigningKey(input.deviceId, publicKey0, this.now())
        return (await this.store.device(input.deviceId))!
    }

    /** K_0 sealed under the master key, as the store keeps it (for a key succession). */
    sealDeviceKey(id: Buffer, key0: Buffer): Buffer {
        return this.vault.seal(key0, id)
    }

    /** Drops the cached verifier state: the store changed underneath it (a key succession). */
    forgetSession(idHex: string) {
        this.sessions.delete(idHex)
        this.keyCaches.delete(idHex)
    }

    private keyCache(d: DeviceRecord): EpochKeyCache {
        let cached = this.keyCaches.get(d.id)
        // A K_0 other than the one the grid grew from: a key succession (here or on another gateway).
        if (cached && !cached.key0Sealed.equals(d.key0Sealed)) this.forgetSession(d.id)
        cached = this.keyCaches.get(d.id)
        if (!cached) {
            const id = Buffer.from(d.id, "hex")
            cached = { key0Sealed: d.key0Sealed, cache: new EpochKeyCache(this.crypto, id, this.vault.open(d.key0Sealed, id)) }
            this.keyCaches.set(d.id, cached)
        }
        return cached.cache
    }

    /**
     * Derives, a slice per event loop turn, the epoch keys `ingest` will need for this body (the
     * head's after a restart, a claimed jump's, a re-sent block's), so that the synchronous
     * ingest costs at most KEY_GRID_INTERVAL HMACs per key however the body is built. Anything
     * the body gets wrong is left for `ingest` to report.
     */
    async prepareIngest(idHex: string, body: Buffer): Promise<void> {
        const d = isDeviceIdHex(idHex) ? await this.store.device(idHex) : undefined
        if (!d) return
        const cache = this.keyCache(d)
        // A session to build: K_head from K_0. Once built, the session holds it, so a device
        // syncing in order never waits for a walk someone else's claim started.
        if (!this.sessions.has(d.id)) await cache.reach(d.headSeq + 1)
        let blocks: Buffer[]
        try {
            blocks = decodeBatch(body).blocks
        } catch (e) {
            if (e instanceof FormatError) return
            throw e
        }
        const expected = this.sessions.get(d.id)?.state.expectedSeq ?? d.headSeq + 1
        const stored = await this.store.blocksAt(d.id, storedSeqsNeeded(expected, blocks))
        const highest = highestKeyNeeded(expected, blocks, (seq, bytes) => !!stored.get(seq)?.bytes.equals(bytes))
        if (highest >= 0) await cache.reach(highest)
    }

    /** The registered device; HttpError 404 otherwise. */
    async device(idHex: string): Promise<DeviceRecord> {
        const d = isDeviceIdHex(idHex) ? await this.store.device(idHex) : undefined
        if (!d) throw new HttpError(404, "unknown-device", "no device " + echo(idHex) + " is registered")
        return d
    }

    /**
     * The cached session, rebuilt from `d` (K_head derived from K_0) when absent or when `d`,
     * as read from the store, is not where the session is: another gateway stored blocks of
     * this device or closed its chain since. `read` reads the store (the locked transaction
     * when ingesting).
     */
    private async session(d: DeviceRecord, read: DeviceReader): Promise<DeviceSession> {
        const epochKeys = this.keyCache(d)
        const cached = this.sessions.get(d.id)
        if (cached && atHead(cached, d)) return cached
        const id = Buffer.from(d.id, "hex")
        const key0 = this.vault.open(d.key0Sealed, id)
        let state = initialVerifierState(key0)
        if (d.headSeq >= 0) {
            const head = decodeBlock((await read.blockAt(d.headSeq))!.bytes)
            const genesis = decodeBlock((await read.blockAt(0))!.bytes)
            state = {
                expectedSeq: d.headSeq + 1,
                link: d.headHash,
                key: epochKeys.keyAt(d.headSeq + 1),
                channelCount: genesis.genesis.channels.length,
                last: blockEndTime(head.header),
                version: head.header.version,
            }
            // A range declared before the restart stays declared: a record declaring it again is refused.
            const declaredTo = await read.declaredTo()
            if (declaredTo !== undefined) state.declaredTo = declaredTo
        }
        const s: DeviceSession = { id, key0Sealed: d.key0Sealed, key0, ackKey: deriveAckKey(this.crypto, key0, id), state, epochKeys }
        const signing = await read.signing()
        if (signing) s.signing = signing.state
        this.sessions.set(d.id, s)
        return s
    }

    /**
     * Where the device's newest stored block was logged (docs/API.md, "Sync"): its leaf index,
     * the log's size now, and with a log key the signed receipt. Outside the ack's K_ack tag: the
     * device ignores them; the receipt carries its own signature.
     */
    private async logPosition(idHex: string, s: DeviceSession): Promise<Record<string, unknown>> {
        const seq = s.state.expectedSeq - 1
        if (seq < 0) return {}
        const log = this.store.log
        const chain = await log.currentChain(idHex)
        const index = await log.leafIndex(idHex, chain, seq)
        if (index === undefined) return {}
        const out: Record<string, unknown> = { logIndex: index, logSize: await log.sequencedSize() }
        if (this.logIdentity)
            out.logReceipt = signReceipt(this.logIdentity.signer, {
                origin: this.logIdentity.origin,
                deviceId: idHex,
                chain,
                seq,
                hash: s.state.link,
                index,
            })
        return out
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
    async ingest(idHex: string, body: Buffer, options: { oversize?: boolean; backlog?: string } = {}): Promise<IngestReply> {
        const d = await this.device(idHex)
        // The session as this gateway last saw the device: the early refusals below sign its ack.
        let s = await this.session(d, {
            blockAt: seq => this.store.blockAt(d.id, seq),
            declaredTo: () => this.store.declaredTo(d.id),
            signing: () => this.store.signing(d.id),
        })
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
            // The device is locked in the database from here to the commit: no other request,
            // in this gateway or another, stores blocks of it meanwhile.
            result = await this.store.withDevice(d.id, async tx => {
                const locked = await tx.device()
                if (!locked) throw new HttpError(404, "unknown-device", "no device " + echo(idHex) + " is registered")
                s = await this.session(locked, tx)
                const needed = storedSeqsNeeded(s.state.expectedSeq, blocks)
                const stored = preparedLookup(s.state.expectedSeq, needed, await tx.blocksAt(needed))
                const r = ingestBatch(
                    {
                        crypto: this.crypto,
                        deviceId: s.id,
                        state: s.state,
                        stored,
                        epochKey: seq => s.epochKeys.keyAt(seq),
                        signing: s.signing,
                        verifySignature: verifyEd25519,
                    },
                    blocks
                )
                await tx.commitBatch({
                    deviceId: d.id,
                    now: this.now(),
                    blocks: r.store,
                    events: r.events,
                    // Seen only when something new arrived: a batch of re-deliveries is acked (the
                    // device may have missed the first ack) but anyone who captured a batch can
                    // replay it, so it must not make a silent device look alive. The backlog kept
                    // is what the device holds once it has taken this reply's ack.
                    seen:
                        r.store.length > 0
                            ? {
                                  backlog:
                                      backlog === undefined
                                          ? undefined
                                          : backlogAfterAck(Number(backlog), batchSeqs(blocks), r.state.expectedSeq - 1),
                              }
                            : undefined,
                    signing: r.store.length > 0 ? r.signing : undefined,
                })
                return r
            })
        } catch (e) {
            // The store is the source of truth: rebuild the session from it next time.
            this.sessions.delete(d.id)
            throw e
        }
        s.state = result.state
        s.signing = result.signing
        const counts = { stored: result.store.length, duplicates: result.duplicates, ...(await this.logPosition(d.id, s)) }
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
    async deviceView(d: DeviceRecord): Promise<Record<string, unknown>> {
        return {
            deviceId: d.id,
            label: d.label,
            registeredAt: iso(d.registeredAt),
            lastSeen: iso(d.lastSeen),
            blockPeriodMs: d.blockCount >= 2 ? blockPeriodMs(await this.store.recentBlockTimes(d.id, BLOCK_PERIOD_WINDOW)) : null,
            head: d.headSeq >= 0 ? { seq: d.headSeq, hash: toHex(d.headHash) } : null,
            blocks: d.blockCount,
            readings: d.readings,
            reportedBacklog: d.reportedBacklog,
            gapRecords: d.gapRecords,
            readingsLost: d.readingsLost,
            blocksLost: d.blocksLost,
            securityEvents: d.events,
            loggedUpTo: d.headSeq >= 0 ? await this.logReader.loggedUpTo(d.id, await this.store.log.currentChain(d.id)) : -1,
            signing: await this.signingOf(d.id),
        }
    }

    /** The device's signing key and how far its chain is publicly verified; null: no key registered. */
    private async signingOf(id: string): Promise<Record<string, unknown> | null> {
        const r = await this.store.signing(id)
        return r ? signingView(r.publicKey0, r.state) : null
    }

    /**
     * The export's public keys: pk_0, then each key a verified signed checkpoint certified (the
     * stored checkpoints up to the seq publicly verified). Undefined: no key registered.
     */
    private async publicKeys(id: string): Promise<Buffer[] | undefined> {
        const r = await this.store.signing(id)
        if (!r) return undefined
        const keys = [r.publicKey0]
        for (const bytes of await this.store.checkpointBlocks(id, r.state.signedSeq)) keys.push(decodeBlock(bytes).checkpoint.nextPublicKey)
        return keys
    }

    async fleet(): Promise<Record<string, unknown>[]> {
        const views: Record<string, unknown>[] = []
        for (const d of await this.store.devices()) views.push(await this.deviceView(d))
        return views
    }

    async deviceDetail(idHex: string): Promise<Record<string, unknown>> {
        const d = await this.device(idHex)
        const view = await this.deviceView(d)
        const g = d.headSeq >= 0 ? decodeBlock((await this.store.blockAt(d.id, 0))!.bytes).genesis : undefined
        return { ...view, firmware: g?.firmware ?? null, board: g?.board ?? null, channels: g?.channels ?? null }
    }

    /**
     * The chain as the verifier's export file (docs/FORMAT.md, "Export file"), with its head, in
     * pieces read a page of blocks at a time (see `pages`): the whole chain is never in memory.
     * The blocks are those up to the head as it was when the export began.
     */
    async exportStream(idHex: string): Promise<AsyncIterator<string>> {
        const d = await this.device(idHex)
        const pieces = exportPieces(
            Buffer.from(d.id, "hex"),
            d.headSeq >= 0 ? { seq: d.headSeq, hash: d.headHash } : undefined,
            await this.publicKeys(d.id)
        )
        const pages = this.pages(d.id, { toSeq: d.headSeq, withBytes: true, pageBlocks: EXPORT_PAGE_BLOCKS })
        return (async function* () {
            yield pieces.open
            let count = 0
            for await (const page of pages) yield page.map(b => pieces.block(b.bytes!, count++)).join("")
            yield pieces.close(count)
        })()
    }

    /** The export file as one string (for `npm start` and tests; the route streams it). */
    async exportChain(idHex: string): Promise<string> {
        const parts: string[] = []
        for (let it = await this.exportStream(idHex), r = await it.next(); !r.done; r = await it.next()) parts.push(r.value)
        return parts.join("")
    }

    /**
     * Blocks in seq order within [fromSeq, toSeq], a page of the store at a time: each page is
     * one query, so no statement or transaction stays open between pages while other requests run.
     */
    private async *pages(
        deviceId: string,
        range: { fromSeq?: number; toSeq?: number; limit?: number; withBytes?: boolean; pageBlocks: number }
    ): AsyncGenerator<BlockRecord[]> {
        let from = range.fromSeq ?? 0
        let left = range.limit ?? Infinity
        const to = range.toSeq ?? Number.MAX_SAFE_INTEGER
        while (left > 0 && from <= to) {
            const page = await this.store.blocks(deviceId, {
                fromSeq: from,
                toSeq: to,
                limit: Math.min(range.pageBlocks, left),
                withBytes: range.withBytes,
            })
            if (page.length === 0) return
            yield page
            left -= page.length
            from = page[page.length - 1].seq + 1
        }
    }

    /**
     * Where one request over [fromSeq, toSeq] stops: the range is cut after MAX_BLOCKS_PER_REQUEST
     * blocks, and `next` is the seq to ask from for the rest (undefined: nothing left).
     */
    private async capRange(
        deviceId: string,
        range: { fromSeq?: number; toSeq?: number; limit?: number }
    ): Promise<{ fromSeq: number; toSeq: number; limit: number; next?: number }> {
        if (range.limit !== undefined && range.limit > MAX_BLOCKS_PER_REQUEST)
            throw new HttpError(400, "bad-request", "limit must be at most " + MAX_BLOCKS_PER_REQUEST + " (page with from=)")
        const fromSeq = range.fromSeq ?? 0
        const toSeq = range.toSeq ?? Number.MAX_SAFE_INTEGER
        const limit = range.limit ?? MAX_BLOCKS_PER_REQUEST
        const next = range.limit === undefined ? await this.store.seqAfter(deviceId, fromSeq, toSeq, limit) : undefined
        return { fromSeq, toSeq: next === undefined ? toSeq : next - 1, limit, next }
    }

    /**
     * The block list as JSON text pieces: {"deviceId", "blocks": [...], "next"?}; `withBytes`
     * adds each block's bytes (the dashboard decrypts encrypted readings from them in the browser).
     */
    async blockListStream(
        idHex: string,
        range: { fromSeq?: number; toSeq?: number; limit?: number },
        withBytes = false
    ): Promise<AsyncIterator<string>> {
        const d = await this.device(idHex)
        const capped = await this.capRange(d.id, range)
        const pages = this.pages(d.id, { ...capped, withBytes, pageBlocks: LIST_PAGE_BLOCKS })
        return jsonArrayStream('{"deviceId":' + JSON.stringify(d.id) + ',"blocks":[', pages, blockView, capped.next)
    }

    /**
     * Decoded readings with physical values (x * 10^exponent of the genesis layout), as JSON
     * text pieces {"deviceId", "channels", "readings": [...], "next"?} or CSV lines; `next` (for
     * CSV, given by the route in a header) when the range was cut at MAX_BLOCKS_PER_REQUEST.
     */
    async readingsStream(
        idHex: string,
        range: { fromSeq?: number; toSeq?: number },
        format: "json" | "csv"
    ): Promise<{ chunks: AsyncIterator<string>; next?: number }> {
        const d = await this.device(idHex)
        const channels = d.headSeq >= 0 ? decodeBlock((await this.store.blockAt(d.id, 0))!.bytes).genesis.channels : []
        const capped = d.headSeq >= 0 ? await this.capRange(d.id, range) : { fromSeq: 0, toSeq: -1, limit: 0, next: undefined as number }
        const pages = this.pages(d.id, { ...capped, withBytes: true, pageBlocks: READINGS_PAGE_BLOCKS })
        const rowPages = (async function* () {
            for await (const page of pages) yield page.flatMap(b => readingRows(b, channels))
        })()
        if (format === "json")
            return {
                chunks: jsonArrayStream(
                    '{"deviceId":' + JSON.stringify(d.id) + ',"channels":' + JSON.stringify(channels) + ',"readings":[',
                    rowPages,
                    r => r,
                    capped.next
                ),
                next: capped.next,
            }
        const chunks = (async function* () {
            yield csvHeader(channels) + "\n"
            for await (const rows of rowPages) yield rows.map(r => csvLine(r) + "\n").join("")
        })()
        return { chunks, next: capped.next }
    }

    /** Security events, oldest first; one repeated is one entry with its count and first and last time. */
    async events(idHex: string): Promise<Record<string, unknown>[]> {
        const d = await this.device(idHex)
        return (await this.store.events(d.id)).map(e => ({
            id: e.id,
            kind: e.kind,
            seq: e.seq,
            count: e.count,
            firstSeen: iso(e.time),
            lastSeen: iso(e.lastTime),
            message: e.message,
            block: e.block ? toHex(e.block) : null,
        }))
    }

    /** The device's gap records with their reasons, from the gap index (nothing decoded). */
    async gaps(idHex: string): Promise<GapView[]> {
        const d = await this.device(idHex)
        return (await this.store.gaps(d.id)).map(g => {
            const time: BlockTime = { boot: g.time.boot, uptimeMs: g.time.uptimeMs }
            if (g.time.unixTime !== null) time.unixTime = g.time.unixTime
            return {
                seq: g.seq,
                reason: GAP_REASONS[g.reason] || "reason " + g.reason,
                lostReadings: g.lostReadings,
                lostBlocks: g.lostBlocks,
                firstLostSeq: g.firstLostSeq,
                from: g.from,
                time,
            }
        })
    }

    async health(): Promise<Record<string, unknown>> {
        return { ok: true, devices: await this.store.deviceCount() }
    }
}

/** What rebuilding a session reads of the device (the store, or the locked transaction). */
type DeviceReader = Pick<DeviceTransaction, "blockAt" | "declaredTo" | "signing">

/** The session stands where the stored device does: same K_0, same head. */
function atHead(s: DeviceSession, d: DeviceRecord): boolean {
    if (!s.key0Sealed.equals(d.key0Sealed) || s.state.expectedSeq !== d.headSeq + 1) return false
    return d.headSeq < 0 || (!!s.state.link && !!d.headHash && s.state.link.equals(d.headHash))
}
