/**
 * The gateway's store: the interface every part of the gateway uses (GatewayStore), and its
 * embedded implementation, SQLite through better-sqlite3 in WAL mode (SqliteStore; PostgreSQL is
 * pgstore.ts, and openStore in openstore.ts picks one). It holds devices (K_0 sealed by the key
 * vault), the blocks they synced (the bytes, plus summary columns so listings need no decoding)
 * and security events. Schema changes are numbered migrations (PRAGMA user_version). A batch of
 * blocks is written in one transaction, inside which the device is locked: all of it or none.
 */
import Database from "better-sqlite3"
import { createHash } from "node:crypto"
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs"
import { dirname } from "node:path"
import { RECORD_CHECKPOINT, RECORD_GAP } from "../../src/lib/codec/format"
import type { SigningState } from "../../src/lib/ledger/signedverify"
import type { BlockTimeRow } from "./cadence"
import { createGapIndex, DECLARED_TO_SQL, GapIndexEntry, INSERT_GAP_SQL } from "./gapindex"
import type { LogStore } from "./tlog/logstore"
import { LOG_MIGRATION, SqliteLogStore } from "./tlog/sqlitelogstore"
import type { ReadTokenStore } from "./tokens"
import { SQLITE_READ_TOKENS, sqliteReadTokens } from "./tokenstore"

/**
 * Security events aggregated: an event repeated (same kind, seq and block) counts up and moves
 * its last time instead of taking a row each time; `time` stays the first one.
 */
export const AGGREGATE_EVENTS = `ALTER TABLE events ADD COLUMN last_time INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
     UPDATE events SET last_time = time;
     CREATE INDEX events_by_kind ON events (device_id, kind, last_time);`

/**
 * Signed checkpoints (src/lib/ledger/signedverify.ts): the signing public key pk_0 registered
 * at provisioning for the device's current chain, and the public verifier's state after the
 * stored head (the key index due next, the key it verifies under, the seq publicly verified
 * up to). One row per device with a registered key; a key succession replaces it.
 */
export const SIGNING_KEYS_TABLE = `CREATE TABLE signing_keys (
    device_id TEXT PRIMARY KEY REFERENCES devices(id),
    public_key0 BLOB NOT NULL,
    registered_at INTEGER NOT NULL,
    key_index INTEGER NOT NULL DEFAULT 0,
    public_key BLOB,
    signed_seq INTEGER NOT NULL DEFAULT -1,
    dropped INTEGER NOT NULL DEFAULT 0,
    broken TEXT
);`

/**
 * Each entry moves the schema from version i to i + 1: SQL, or a function for a step SQL alone
 * cannot do. No entry refers to its own number, so entries can be renumbered on a merge (tests
 * find a step by value: MIGRATIONS.indexOf(step)).
 */
export const MIGRATIONS: readonly (string | ((db: Database.Database) => void))[] = [
    `CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
     CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        label TEXT,
        key0_sealed BLOB NOT NULL,
        registered_at INTEGER NOT NULL,
        last_seen INTEGER,
        reported_backlog INTEGER,
        head_seq INTEGER NOT NULL DEFAULT -1,
        head_hash BLOB,
        block_count INTEGER NOT NULL DEFAULT 0,
        readings INTEGER NOT NULL DEFAULT 0,
        gap_records INTEGER NOT NULL DEFAULT 0,
        readings_lost INTEGER NOT NULL DEFAULT 0,
        blocks_lost INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE blocks (
        device_id TEXT NOT NULL REFERENCES devices(id),
        seq INTEGER NOT NULL,
        type INTEGER NOT NULL,
        boot INTEGER NOT NULL,
        uptime_ms INTEGER NOT NULL,
        unix_time INTEGER,
        reading_count INTEGER NOT NULL,
        lost_readings INTEGER NOT NULL DEFAULT 0,
        lost_blocks INTEGER NOT NULL DEFAULT 0,
        hash BLOB NOT NULL,
        bytes BLOB NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (device_id, seq)
     ) WITHOUT ROWID;
     CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id),
        time INTEGER NOT NULL,
        kind TEXT NOT NULL,
        seq INTEGER,
        message TEXT NOT NULL,
        block BLOB,
        block_hash BLOB
     );
     CREATE UNIQUE INDEX events_once ON events (device_id, kind, seq, block_hash);`,
    // Key succession (tools/gateway/succession.ts): closed chains and their blocks.
    `CREATE TABLE succession_chains (
    device_id TEXT NOT NULL REFERENCES devices(id),
    chain INTEGER NOT NULL,
    key0_sealed BLOB NOT NULL,
    closed_head_seq INTEGER NOT NULL,
    closed_head_hash BLOB,
    successor_link BLOB NOT NULL,
    link_matches INTEGER NOT NULL,
    closed_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, chain)
);
CREATE TABLE succession_blocks (
    device_id TEXT NOT NULL,
    chain INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    type INTEGER NOT NULL,
    boot INTEGER NOT NULL,
    uptime_ms INTEGER NOT NULL,
    unix_time INTEGER,
    reading_count INTEGER NOT NULL,
    lost_readings INTEGER NOT NULL,
    lost_blocks INTEGER NOT NULL,
    hash BLOB NOT NULL,
    bytes BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, chain, seq)
) WITHOUT ROWID;`,
    AGGREGATE_EVENTS,
    // The gap index (gapindex.ts), backfilled from the stored gap records.
    createGapIndex,
    // The transparency log (tlog/sqlitelogstore.ts). Blocks stored before it have no leaves.
    LOG_MIGRATION,
    SIGNING_KEYS_TABLE,
    // Read tokens (tokens.ts, tokenstore.ts).
    SQLITE_READ_TOKENS,
]

export interface DeviceRecord {
    id: string
    label: string | null
    key0Sealed: Buffer
    /** Unix milliseconds. */
    registeredAt: number
    /** Unix milliseconds of the last batch that stored a new block; null: never. */
    lastSeen: number | null
    /** Blocks the device said it still held (?backlog=N) in the batch that set lastSeen. */
    reportedBacklog: number | null
    /** Highest stored seq, -1 when nothing is stored. */
    headSeq: number
    headHash: Buffer | null
    blockCount: number
    readings: number
    gapRecords: number
    readingsLost: number
    blocksLost: number
    events: number
}

/** A block's row, without its bytes unless asked for. */
export interface BlockRecord {
    seq: number
    type: number
    boot: number
    uptimeMs: number
    unixTime: number | null
    readingCount: number
    lostReadings: number
    lostBlocks: number
    hash: Buffer
    bytes?: Buffer
    receivedAt: number
}

/**
 * Event kinds anyone can cause: a bad tag needs no key, so anyone may post rejected blocks to
 * a device's URL. Only these are trimmed, to the MAX_FLOOD_EVENTS_PER_DEVICE most recently
 * seen per device. Every other kind (a fork, a bad link, a key succession, a succession gap)
 * takes a device key or the admin token and is evidence: never trimmed, so no flood erases it.
 */
export const FLOODABLE_EVENT_KINDS = ["bad-tag"]
export const MAX_FLOOD_EVENTS_PER_DEVICE = 1000

export interface EventRecord {
    id: number
    /** First seen, unix ms. */
    time: number
    /** Last seen, unix ms. */
    lastTime: number
    /** How many times it was seen (the same kind, seq and block). */
    count: number
    kind: string
    seq: number | null
    message: string
    block: Buffer | null
}

/** A block to store; a gap record also brings its gap index entry. */
export type NewBlock = Omit<BlockRecord, "receivedAt" | "bytes"> & { bytes: Buffer; gap?: GapIndexEntry }
export type NewEvent = Pick<EventRecord, "kind" | "seq" | "message" | "block">

/** A gap record as the gap index and its block's row hold it. */
export interface GapRow extends GapIndexEntry {
    seq: number
    lostReadings: number
    lostBlocks: number
    /** When the record was sealed (its block's device time). */
    time: { boot: number; uptimeMs: number; unixTime: number | null }
}

/** What a key succession writes (succession.ts decides it), in one transaction. */
export interface ChainClosing {
    /** The device as it was before: its sealed K_0 and head go to succession_chains. */
    previous: DeviceRecord
    /** The new K_0, sealed. */
    key0Sealed: Buffer
    /** The successor genesis block's link. */
    successorLink: Buffer
    /** The new chain's signing key pk_0, if the device has one: replaces the old chain's. */
    publicKey0?: Buffer
    linkMatches: boolean
    now: number
    /** Built from the number of the chain closed. */
    events(closedChain: number): NewEvent[]
}

/** What one request writes, in one transaction. */
export interface BatchWrite {
    deviceId: string
    now: number
    blocks: NewBlock[]
    events: NewEvent[]
    /**
     * Set when the batch stored a new block: the device was seen (lastSeen and the reported
     * backlog move). A batch of re-deliveries only is acked but leaves both as they were.
     */
    seen?: { backlog?: number }
    /** The signed-checkpoint state after the batch, for a device with a registered signing key. */
    signing?: SigningState
}

/** A device's signing key and the public verifier's state (signing_keys). */
export interface SigningRecord {
    publicKey0: Buffer
    registeredAt: number
    state: SigningState
}

/** A stored block's bytes and hash: what ingest compares a re-sent block with. */
export interface StoredBlock {
    bytes: Buffer
    hash: Buffer
}

/**
 * The work done with one device locked (GatewayStore.withDevice), in one transaction: reads see
 * what other gateways committed before the lock was taken, and nobody else writes the device's
 * rows until this transaction ends. It commits when the work resolves and rolls back if it throws.
 */
export interface DeviceTransaction {
    /** The device's row as of the lock (undefined: not registered). */
    device(): Promise<DeviceRecord | undefined>
    /** The stored blocks at these seqs (absent seqs are not in the map). */
    blocksAt(seqs: readonly number[]): Promise<Map<number, StoredBlock>>
    /** The block at seq with its bytes. */
    blockAt(seq: number): Promise<BlockRecord | undefined>
    /** GatewayStore.declaredTo for this device. */
    declaredTo(): Promise<number | undefined>
    /** GatewayStore.signing for this device. */
    signing(): Promise<SigningRecord | undefined>
    /** Writes one request's blocks, events and contact time. */
    commitBatch(w: BatchWrite): Promise<void>
    /** Closes the device's chain for a key succession (see GatewayStore.closeChain). */
    closeChain(c: ChainClosing): Promise<number>
}

/**
 * What the gateway needs of a store. Every method is asynchronous (PostgreSQL answers over a
 * socket); the SQLite implementation answers at once. Writes that must see the device's current
 * head (a batch, a key succession) run in `withDevice`, which serializes them per device in the
 * database itself, so several gateway processes on one database keep every guarantee.
 */
export interface GatewayStore {
    /**
     * The transparency log in the same database (tools/gateway/tlog/logstore.ts): a batch's
     * blocks get their leaves in the batch's transaction, as its last statement.
     */
    readonly log: LogStore
    /** "sqlite" or "postgres": for messages only, nothing may branch on it. */
    readonly kind: string
    /** The read tokens (tokens.ts): in the database, so every gateway on it takes them. */
    readonly tokens: ReadTokenStore
    close(): Promise<void>
    metaGet(key: string): Promise<Buffer | undefined>
    /** Stores `value` under `key` unless one is there; returns the value stored (first writer wins). */
    metaInit(key: string, value: Buffer): Promise<Buffer>
    /** Adds a device; false when the id is already registered. */
    insertDevice(id: string, label: string | null, key0Sealed: Buffer, now: number): Promise<boolean>
    device(id: string): Promise<DeviceRecord | undefined>
    devices(): Promise<DeviceRecord[]>
    hashAt(deviceId: string, seq: number): Promise<Buffer | undefined>
    blockAt(deviceId: string, seq: number): Promise<BlockRecord | undefined>
    /** The stored blocks at these seqs, read without a lock. */
    blocksAt(deviceId: string, seqs: readonly number[]): Promise<Map<number, StoredBlock>>
    /** Blocks in seq order within [fromSeq, toSeq], at most `limit`; bytes only when asked. */
    blocks(deviceId: string, options?: BlockRange): Promise<BlockRecord[]>
    /** The seq of the block `count` blocks into [fromSeq, toSeq] (undefined: fewer are stored). */
    seqAfter(deviceId: string, fromSeq: number, toSeq: number, count: number): Promise<number | undefined>
    /** The device times of the newest `limit` blocks, newest first (a walk back along the key). */
    recentBlockTimes(deviceId: string, limit: number): Promise<BlockTimeRow[]>
    events(deviceId: string): Promise<EventRecord[]>
    /** The device's gap records in seq order, from the gap index (nothing is decoded). */
    gaps(deviceId: string): Promise<GapRow[]>
    /** The last seq of the widest dropped range the device's stored gap records declare (undefined: none). */
    declaredTo(deviceId: string): Promise<number | undefined>
    /** The device's signing key and the public verifier's state after its head; undefined: no key registered. */
    signing(deviceId: string): Promise<SigningRecord | undefined>
    /** Registers pk_0 for the device's current chain (replacing any), the verifier state at its start. */
    setSigningKey(deviceId: string, publicKey0: Buffer, now: number): Promise<void>
    /** The stored signed checkpoint blocks up to `toSeq`, in seq order (their certified keys, for the export). */
    checkpointBlocks(deviceId: string, toSeq: number): Promise<Buffer[]>
    /** Runs `work` with the device locked, in one transaction (see DeviceTransaction). */
    withDevice<T>(deviceId: string, work: (tx: DeviceTransaction) => Promise<T>): Promise<T>
    /** commitBatch in its own locked transaction. */
    commitBatch(w: BatchWrite): Promise<void>
    /**
     * Closes the device's chain for a key succession: the chain's blocks move to
     * succession_blocks under the next chain number, a succession_chains row names the closed
     * head, the device starts afresh under its new K_0, and the events are recorded. Returns
     * the number of the chain closed (1 for a device's first chain).
     */
    closeChain(c: ChainClosing): Promise<number>
    /** Registered devices: what /v1/health reports, without counting every block. */
    deviceCount(): Promise<number>
    /** Row counts of the main tables (for tests and tools). */
    counts(): Promise<Record<string, number>>
}

export interface BlockRange {
    fromSeq?: number
    toSeq?: number
    limit?: number
    withBytes?: boolean
}

export class StoreError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "StoreError"
    }
}

export function deviceFromRow(r: any): DeviceRecord {
    return {
        id: r.id,
        label: r.label,
        key0Sealed: r.key0_sealed,
        registeredAt: r.registered_at,
        lastSeen: r.last_seen,
        reportedBacklog: r.reported_backlog,
        headSeq: r.head_seq,
        headHash: r.head_hash,
        blockCount: r.block_count,
        readings: r.readings,
        gapRecords: r.gap_records,
        readingsLost: r.readings_lost,
        blocksLost: r.blocks_lost,
        events: r.events,
    }
}

/** A signing_keys row (both stores). */
export function signingFromRow(r: any): SigningRecord {
    const state: SigningState = { keyIndex: r.key_index, signedSeq: r.signed_seq, dropped: r.dropped === 1 }
    if (r.public_key) state.publicKey = r.public_key
    if (r.broken !== null && r.broken !== undefined) state.broken = r.broken
    return { publicKey0: r.public_key0, registeredAt: r.registered_at, state }
}

export function blockFromRow(r: any): BlockRecord {
    const b: BlockRecord = {
        seq: r.seq,
        type: r.type,
        boot: r.boot,
        uptimeMs: r.uptime_ms,
        unixTime: r.unix_time,
        readingCount: r.reading_count,
        lostReadings: r.lost_readings,
        lostBlocks: r.lost_blocks,
        hash: r.hash,
        receivedAt: r.received_at,
    }
    if (r.bytes) b.bytes = r.bytes
    return b
}

const DEVICE_COLUMNS = `d.*, (SELECT count(*) FROM events e WHERE e.device_id = d.id) AS events`

/** Brings the database's schema to version `target` (default: the newest), one transaction per step. */
export function migrateDatabase(db: Database.Database, target = MIGRATIONS.length) {
    const version = db.pragma("user_version", { simple: true }) as number
    if (version > MIGRATIONS.length)
        throw new StoreError("the database has schema version " + version + ", newer than this gateway knows (" + MIGRATIONS.length + ")")
    for (let v = version; v < target; v++) {
        const step = MIGRATIONS[v]
        db.transaction(() => {
            if (typeof step === "string") db.exec(step)
            else step(db)
            db.pragma("user_version = " + (v + 1))
        })()
    }
}

/**
 * The embedded store: one SQLite file. Writes go one at a time through `serial` (one
 * connection, one transaction at a time); `withDevice` takes SQLite's write lock (BEGIN
 * IMMEDIATE), which also serializes gateway processes sharing the file.
 */
export class SqliteStore implements GatewayStore {
    readonly kind = "sqlite"
    readonly db: Database.Database
    readonly tokens: ReadTokenStore
    private readonly stmts: Record<string, Database.Statement>
    /** The write queue: the tail of the last write or transaction. */
    private queue: Promise<unknown> = Promise.resolve()
    /** The transparency log's tables in this database: each batch's blocks get their leaves in its transaction. */
    readonly log: SqliteLogStore

    /** Opens (creating if needed) the database at `path` (":memory:" for tests) and migrates it. */
    constructor(path: string) {
        if (path !== ":memory:") createPrivately(path)
        this.db = new Database(path)
        this.db.pragma("journal_mode = WAL")
        // FULL: a commit returns only once the WAL is on disk, so the ack that follows never
        // names a batch that a power cut can still roll back (NORMAL syncs at checkpoints only).
        this.db.pragma("synchronous = FULL")
        this.db.pragma("foreign_keys = ON")
        migrateDatabase(this.db)
        const db = this.db
        this.stmts = {
            insertDevice: db.prepare(`INSERT INTO devices (id, label, key0_sealed, registered_at) VALUES (?, ?, ?, ?)`),
            device: db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = ?`),
            devices: db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices d ORDER BY d.id`),
            hashAt: db.prepare(`SELECT hash FROM blocks WHERE device_id = ? AND seq = ?`).pluck(),
            blockAt: db.prepare(`SELECT * FROM blocks WHERE device_id = ? AND seq = ?`),
            blocks: db.prepare(
                `SELECT seq, type, boot, uptime_ms, unix_time, reading_count, lost_readings, lost_blocks, hash, received_at FROM blocks WHERE device_id = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`
            ),
            blocksWithBytes: db.prepare(`SELECT * FROM blocks WHERE device_id = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`),
            seqAfter: db
                .prepare(`SELECT seq FROM blocks WHERE device_id = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT 1 OFFSET ?`)
                .pluck(),
            recentTimes: db.prepare(
                `SELECT seq, type, boot, uptime_ms AS uptimeMs FROM blocks WHERE device_id = ? ORDER BY seq DESC LIMIT ?`
            ),
            events: db.prepare(
                `SELECT id, time, last_time AS lastTime, count, kind, seq, message, block FROM events WHERE device_id = ? ORDER BY id`
            ),
            gaps: db.prepare(`SELECT g.seq, g.reason, g.first_lost_seq AS firstLostSeq, g.from_boot, g.from_uptime_ms, b.lost_readings AS lostReadings, b.lost_blocks AS lostBlocks,
                b.boot, b.uptime_ms, b.unix_time FROM gaps g JOIN blocks b ON b.device_id = g.device_id AND b.seq = g.seq WHERE g.device_id = ? ORDER BY g.seq`),
            insertGap: db.prepare(INSERT_GAP_SQL),
            declaredTo: db.prepare(DECLARED_TO_SQL).pluck(),
            insertBlock:
                db.prepare(`INSERT INTO blocks (device_id, seq, type, boot, uptime_ms, unix_time, reading_count, lost_readings, lost_blocks, hash, bytes, received_at)
                VALUES (@deviceId, @seq, @type, @boot, @uptimeMs, @unixTime, @readingCount, @lostReadings, @lostBlocks, @hash, @bytes, @receivedAt)`),
            trimEvents: db.prepare(`DELETE FROM events WHERE device_id = @deviceId AND kind = @kind AND id NOT IN
                (SELECT id FROM events WHERE device_id = @deviceId AND kind = @kind ORDER BY last_time DESC, id DESC LIMIT @keep)`),
            insertEvent:
                db.prepare(`INSERT INTO events (device_id, time, last_time, kind, seq, message, block, block_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (device_id, kind, seq, block_hash) DO UPDATE SET count = count + 1, last_time = excluded.last_time`),
            advanceHead: db.prepare(`UPDATE devices SET head_seq = ?, head_hash = ?, block_count = block_count + ?, readings = readings + ?,
                gap_records = gap_records + ?, readings_lost = readings_lost + ?, blocks_lost = blocks_lost + ? WHERE id = ?`),
            seen: db.prepare(`UPDATE devices SET last_seen = ?, reported_backlog = coalesce(?, reported_backlog) WHERE id = ?`),
            signing: db.prepare(`SELECT * FROM signing_keys WHERE device_id = ?`),
            setSigningKey: db.prepare(
                `INSERT OR REPLACE INTO signing_keys (device_id, public_key0, registered_at, public_key) VALUES (?, ?, ?, ?)`
            ),
            dropSigningKey: db.prepare(`DELETE FROM signing_keys WHERE device_id = ?`),
            updateSigning: db.prepare(
                `UPDATE signing_keys SET key_index = ?, public_key = ?, signed_seq = ?, dropped = ?, broken = ? WHERE device_id = ?`
            ),
            checkpoints: db
                .prepare(`SELECT bytes FROM blocks WHERE device_id = ? AND type = ${RECORD_CHECKPOINT} AND seq <= ? ORDER BY seq`)
                .pluck(),
            metaGet: db.prepare(`SELECT value FROM meta WHERE key = ?`).pluck(),
            metaInit: db.prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)`),
        }
        this.log = new SqliteLogStore(db)
        this.tokens = sqliteReadTokens(db, write => this.serial(write))
    }

    async close() {
        await this.queue
        this.db.close()
    }

    /** Runs `write` after every write queued before it (one transaction at a time on the connection). */
    private serial<T>(write: () => Promise<T> | T): Promise<T> {
        const run = this.queue.then(write)
        this.queue = run.catch(() => {})
        return run
    }

    async metaGet(key: string): Promise<Buffer | undefined> {
        return this.stmts.metaGet.get(key) as Buffer | undefined
    }

    metaInit(key: string, value: Buffer): Promise<Buffer> {
        return this.serial(() => {
            this.stmts.metaInit.run(key, value)
            return this.stmts.metaGet.get(key) as Buffer
        })
    }

    insertDevice(id: string, label: string | null, key0Sealed: Buffer, now: number): Promise<boolean> {
        return this.serial(() => {
            try {
                this.stmts.insertDevice.run(id, label, key0Sealed, now)
                return true
            } catch (e) {
                if ((e as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY") return false
                throw e
            }
        })
    }

    async device(id: string): Promise<DeviceRecord | undefined> {
        const r = this.stmts.device.get(id)
        return r ? deviceFromRow(r) : undefined
    }

    async devices(): Promise<DeviceRecord[]> {
        return this.stmts.devices.all().map(deviceFromRow)
    }

    async hashAt(deviceId: string, seq: number): Promise<Buffer | undefined> {
        return (this.stmts.hashAt.get(deviceId, seq) as Buffer) ?? undefined
    }

    async blockAt(deviceId: string, seq: number): Promise<BlockRecord | undefined> {
        const r = this.stmts.blockAt.get(deviceId, seq)
        return r ? blockFromRow(r) : undefined
    }

    async blocksAt(deviceId: string, seqs: readonly number[]): Promise<Map<number, StoredBlock>> {
        const found = new Map<number, StoredBlock>()
        for (const seq of new Set(seqs)) {
            const r = this.stmts.blockAt.get(deviceId, seq) as { bytes: Buffer; hash: Buffer } | undefined
            if (r) found.set(seq, { bytes: r.bytes, hash: r.hash })
        }
        return found
    }

    async blocks(deviceId: string, options: BlockRange = {}): Promise<BlockRecord[]> {
        const stmt = options.withBytes ? this.stmts.blocksWithBytes : this.stmts.blocks
        return stmt.all(deviceId, options.fromSeq ?? 0, options.toSeq ?? Number.MAX_SAFE_INTEGER, options.limit ?? -1).map(blockFromRow)
    }

    async seqAfter(deviceId: string, fromSeq: number, toSeq: number, count: number): Promise<number | undefined> {
        return (this.stmts.seqAfter.get(deviceId, fromSeq, toSeq, count) as number) ?? undefined
    }

    async recentBlockTimes(deviceId: string, limit: number): Promise<BlockTimeRow[]> {
        return this.stmts.recentTimes.all(deviceId, limit) as BlockTimeRow[]
    }

    async events(deviceId: string): Promise<EventRecord[]> {
        return this.stmts.events.all(deviceId) as EventRecord[]
    }

    async gaps(deviceId: string): Promise<GapRow[]> {
        return this.stmts.gaps.all(deviceId).map(gapFromRow)
    }

    async declaredTo(deviceId: string): Promise<number | undefined> {
        return (this.stmts.declaredTo.get(deviceId) as number | null) ?? undefined
    }

    /**
     * BEGIN IMMEDIATE takes SQLite's write lock at once (waiting up to the busy timeout for
     * another process's), so the device row read next is the committed one and stays so.
     */
    withDevice<T>(deviceId: string, work: (tx: DeviceTransaction) => Promise<T>): Promise<T> {
        return this.serial(async () => {
            this.db.exec("BEGIN IMMEDIATE")
            let result: T
            try {
                result = await work(this.transaction(deviceId))
            } catch (e) {
                if (this.db.inTransaction) this.db.exec("ROLLBACK")
                throw e
            }
            this.db.exec("COMMIT")
            return result
        })
    }

    commitBatch(w: BatchWrite): Promise<void> {
        return this.withDevice(w.deviceId, tx => tx.commitBatch(w))
    }

    closeChain(c: ChainClosing): Promise<number> {
        return this.withDevice(c.previous.id, tx => tx.closeChain(c))
    }

    private transaction(deviceId: string): DeviceTransaction {
        const r = this.stmts.device.get(deviceId)
        const locked = r ? deviceFromRow(r) : undefined
        return {
            device: async () => locked,
            blocksAt: seqs => this.blocksAt(deviceId, seqs),
            blockAt: seq => this.blockAt(deviceId, seq),
            declaredTo: () => this.declaredTo(deviceId),
            signing: () => this.signing(deviceId),
            commitBatch: async w => {
                if (w.deviceId !== deviceId) throw new StoreError("a batch of device " + w.deviceId + " in a transaction of " + deviceId)
                // applyBatch appends the blocks' leaves last (the log's counter row).
                this.applyBatch(w)
            },
            closeChain: async c => {
                if (c.previous.id !== deviceId)
                    throw new StoreError("a succession of " + c.previous.id + " in a transaction of " + deviceId)
                return this.applyCloseChain(c)
            },
        }
    }

    private recordEvents(deviceId: string, now: number, events: NewEvent[]) {
        for (const e of events)
            this.stmts.insertEvent.run(deviceId, now, now, e.kind, e.seq, e.message, e.block, e.block ? hashForEvent(e.block) : null)
        for (const kind of FLOODABLE_EVENT_KINDS)
            if (events.some(e => e.kind === kind)) this.stmts.trimEvents.run({ deviceId, kind, keep: MAX_FLOOD_EVENTS_PER_DEVICE })
    }

    private applyBatch(w: BatchWrite) {
        this.recordEvents(w.deviceId, w.now, w.events)
        if (w.blocks.length > 0) {
            for (const b of w.blocks) {
                const { gap, ...row } = b
                this.stmts.insertBlock.run({ ...row, deviceId: w.deviceId, receivedAt: w.now })
                if (gap) this.stmts.insertGap.run(w.deviceId, b.seq, gap.reason, gap.firstLostSeq, gap.from.boot, gap.from.uptimeMs)
            }
            const t = batchTotals(w.blocks)
            this.stmts.advanceHead.run(
                t.head.seq,
                t.head.hash,
                w.blocks.length,
                t.readings,
                t.gaps,
                t.lostReadings,
                t.lostBlocks,
                w.deviceId
            )
        }
        if (w.seen) this.stmts.seen.run(w.now, w.seen.backlog ?? null, w.deviceId)
        if (w.signing) {
            const g = w.signing
            this.stmts.updateSigning.run(g.keyIndex, g.publicKey ?? null, g.signedSeq, g.dropped ? 1 : 0, g.broken ?? null, w.deviceId)
        }
        // Last: the log's counter row (tlog/logstore.ts: held for the least time).
        if (w.blocks.length > 0) this.log.appendInTransaction(w.deviceId, w.blocks)
    }

    // ------------------------------------------------------------ signed checkpoints

    /** The device's signing key and verifier state; undefined: no key registered. */
    async signing(deviceId: string): Promise<SigningRecord | undefined> {
        const r = this.stmts.signing.get(deviceId)
        return r ? signingFromRow(r) : undefined
    }

    /** Registers pk_0 for the device's current chain (replacing any), the verifier state at its start. */
    async setSigningKey(deviceId: string, publicKey0: Buffer, now: number): Promise<void> {
        this.stmts.setSigningKey.run(deviceId, publicKey0, now, publicKey0)
    }

    /** The stored signed checkpoint blocks up to `toSeq`, in seq order (their certified keys, for the export). */
    async checkpointBlocks(deviceId: string, toSeq: number): Promise<Buffer[]> {
        return this.stmts.checkpoints.all(deviceId, toSeq) as Buffer[]
    }

    private applyCloseChain(c: ChainClosing): number {
        const db = this.db
        const d = c.previous
        const chain =
            ((db.prepare(`SELECT max(chain) FROM succession_chains WHERE device_id = ?`).pluck().get(d.id) as number | null) ?? 0) + 1
        db.prepare(`INSERT INTO succession_chains VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
            d.id,
            chain,
            d.key0Sealed,
            d.headSeq,
            d.headHash,
            c.successorLink,
            c.linkMatches ? 1 : 0,
            c.now
        )
        db.prepare(
            `INSERT INTO succession_blocks SELECT device_id, ?, seq, type, boot, uptime_ms, unix_time, reading_count, lost_readings, lost_blocks, hash, bytes, received_at FROM blocks WHERE device_id = ?`
        ).run(chain, d.id)
        // Takes the chain's gap index rows with it (ON DELETE CASCADE).
        db.prepare(`DELETE FROM blocks WHERE device_id = ?`).run(d.id)
        db.prepare(
            `UPDATE devices SET key0_sealed = ?, head_seq = -1, head_hash = NULL, block_count = 0, readings = 0, gap_records = 0, readings_lost = 0, blocks_lost = 0, reported_backlog = NULL WHERE id = ?`
        ).run(c.key0Sealed, d.id)
        // The old chain's signing key ends with it; the new chain's (if any) starts afresh.
        this.stmts.dropSigningKey.run(d.id)
        if (c.publicKey0) this.stmts.setSigningKey.run(d.id, c.publicKey0, c.now, c.publicKey0)
        this.recordEvents(d.id, c.now, c.events(chain))
        return chain
    }

    async deviceCount(): Promise<number> {
        return this.db.prepare("SELECT count(*) FROM devices").pluck().get() as number
    }

    async counts(): Promise<Record<string, number>> {
        const count = (t: string) => this.db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number
        return { devices: count("devices"), blocks: count("blocks"), events: count("events") }
    }
}

/** What a batch adds to its device's row: the new head and the totals the listings show. */
export function batchTotals(blocks: readonly NewBlock[]) {
    let readings = 0
    let gaps = 0
    let lostReadings = 0
    let lostBlocks = 0
    for (const b of blocks) {
        readings += b.readingCount
        if (b.type === RECORD_GAP) {
            gaps++
            lostReadings += b.lostReadings
            lostBlocks += b.lostBlocks
        }
    }
    return { head: blocks[blocks.length - 1], readings, gaps, lostReadings, lostBlocks }
}

export function gapFromRow(r: any): GapRow {
    return {
        seq: r.seq,
        reason: r.reason,
        firstLostSeq: r.firstLostSeq,
        from: { boot: r.from_boot, uptimeMs: r.from_uptime_ms },
        lostReadings: r.lostReadings,
        lostBlocks: r.lostBlocks,
        time: { boot: r.boot, uptimeMs: r.uptime_ms, unixTime: r.unix_time },
    }
}

/**
 * The database holds sealed keys and every reading: only its owner may read it. Creates the
 * directory 0700 when absent and the file 0600 before SQLite opens it (SQLite gives the -wal
 * and -shm files the database's mode); an existing file and its companions are narrowed to 0600.
 */
function createPrivately(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    if (!existsSync(path)) closeSync(openSync(path, "a", 0o600))
    for (const file of [path, path + "-wal", path + "-shm"]) if (existsSync(file)) chmodSync(file, 0o600)
}

/** Events keep the offending block; the same block is recorded once per kind and seq. */
export function hashForEvent(block: Buffer): Buffer {
    return createHash("sha256").update(block).digest()
}
