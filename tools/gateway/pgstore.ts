/**
 * The gateway's store on PostgreSQL (node-postgres), for a fleet: several gateway processes on
 * one database. The tables are those of the SQLite store (store.ts) with PostgreSQL types;
 * PG_MIGRATIONS numbers their changes (table schema_migrations), applied under an advisory
 * lock so that gateways starting together migrate once.
 *
 * Guarantees across processes come from the database, never from a process's memory:
 * - a batch or a key succession runs in `withDevice`: one transaction that first locks the
 *   device's row (SELECT ... FOR UPDATE), so the head it reads is the committed one and no
 *   other gateway writes the device until the commit; the blocks' primary key (device, seq)
 *   backs it up (a second copy of a block cannot be stored, whatever happens);
 * - every connection commits with synchronous_commit = on: COMMIT returns once the WAL is
 *   flushed, so an ack never names a batch a crash can roll back.
 */
import pg from "pg"
import { MAX_FLOOD_EVENTS_PER_DEVICE, FLOODABLE_EVENT_KINDS } from "./store"
import {
    BatchWrite,
    batchTotals,
    BlockRange,
    BlockRecord,
    blockFromRow,
    ChainClosing,
    DeviceRecord,
    deviceFromRow,
    DeviceTransaction,
    EventRecord,
    GapRow,
    gapFromRow,
    GatewayStore,
    hashForEvent,
    NewEvent,
    SigningRecord,
    signingFromRow,
    StoredBlock,
    StoreError,
} from "./store"
import type { BlockTimeRow } from "./cadence"
import { DECLARED_TO_SQL } from "./gapindex"
import { PG_LOG_MIGRATION, PgLogStore } from "./tlog/pglogstore"
import { RECORD_CHECKPOINT } from "../../src/lib/codec/format"
import type { ReadTokenStore } from "./tokens"
import { PG_READ_TOKENS, pgReadTokens } from "./tokenstore"

/** Each entry moves the schema from version i to i + 1 (as MIGRATIONS in store.ts). */
export const PG_MIGRATIONS: readonly string[] = [
    `CREATE TABLE meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
     CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        label TEXT,
        key0_sealed BYTEA NOT NULL,
        registered_at BIGINT NOT NULL,
        last_seen BIGINT,
        reported_backlog BIGINT,
        head_seq BIGINT NOT NULL DEFAULT -1,
        head_hash BYTEA,
        block_count BIGINT NOT NULL DEFAULT 0,
        readings BIGINT NOT NULL DEFAULT 0,
        gap_records BIGINT NOT NULL DEFAULT 0,
        readings_lost BIGINT NOT NULL DEFAULT 0,
        blocks_lost BIGINT NOT NULL DEFAULT 0
     );
     CREATE TABLE blocks (
        device_id TEXT NOT NULL REFERENCES devices(id),
        seq BIGINT NOT NULL,
        type INTEGER NOT NULL,
        boot BIGINT NOT NULL,
        uptime_ms BIGINT NOT NULL,
        unix_time BIGINT,
        reading_count INTEGER NOT NULL,
        lost_readings BIGINT NOT NULL DEFAULT 0,
        lost_blocks BIGINT NOT NULL DEFAULT 0,
        hash BYTEA NOT NULL,
        bytes BYTEA NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (device_id, seq)
     );
     CREATE TABLE events (
        id BIGSERIAL PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id),
        time BIGINT NOT NULL,
        last_time BIGINT NOT NULL,
        count BIGINT NOT NULL DEFAULT 1,
        kind TEXT NOT NULL,
        seq BIGINT,
        message TEXT NOT NULL,
        block BYTEA,
        block_hash BYTEA
     );
     CREATE UNIQUE INDEX events_once ON events (device_id, kind, seq, block_hash);
     CREATE INDEX events_by_kind ON events (device_id, kind, last_time);
     CREATE TABLE succession_chains (
        device_id TEXT NOT NULL REFERENCES devices(id),
        chain INTEGER NOT NULL,
        key0_sealed BYTEA NOT NULL,
        closed_head_seq BIGINT NOT NULL,
        closed_head_hash BYTEA,
        successor_link BYTEA NOT NULL,
        link_matches INTEGER NOT NULL,
        closed_at BIGINT NOT NULL,
        PRIMARY KEY (device_id, chain)
     );
     CREATE TABLE succession_blocks (
        device_id TEXT NOT NULL,
        chain INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        type INTEGER NOT NULL,
        boot BIGINT NOT NULL,
        uptime_ms BIGINT NOT NULL,
        unix_time BIGINT,
        reading_count INTEGER NOT NULL,
        lost_readings BIGINT NOT NULL,
        lost_blocks BIGINT NOT NULL,
        hash BYTEA NOT NULL,
        bytes BYTEA NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (device_id, chain, seq)
     );
     CREATE TABLE gaps (
        device_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        reason INTEGER NOT NULL,
        first_lost_seq BIGINT NOT NULL,
        from_boot BIGINT NOT NULL,
        from_uptime_ms BIGINT NOT NULL,
        PRIMARY KEY (device_id, seq),
        FOREIGN KEY (device_id, seq) REFERENCES blocks (device_id, seq) ON DELETE CASCADE
     );`,
    // The transparency log (tlog/pglogstore.ts); blocks already stored are logged in arrival order.
    PG_LOG_MIGRATION,
    // Signed checkpoints: as SIGNING_KEYS_TABLE in store.ts.
    `CREATE TABLE signing_keys (
        device_id TEXT PRIMARY KEY REFERENCES devices(id),
        public_key0 BYTEA NOT NULL,
        registered_at BIGINT NOT NULL,
        key_index BIGINT NOT NULL DEFAULT 0,
        public_key BYTEA,
        signed_seq BIGINT NOT NULL DEFAULT -1,
        dropped INTEGER NOT NULL DEFAULT 0,
        broken TEXT
     );`,
    // Read tokens (tokens.ts, tokenstore.ts).
    PG_READ_TOKENS,
]

/** The advisory lock key under which a gateway migrates (any constant no other lock uses). */
const MIGRATION_LOCK = 0x666c6d67 // "flmg"
/** Connections per gateway process: requests beyond this wait for one. */
const POOL_SIZE = 8

const INT8_OID = 20
/**
 * BIGINT columns come back as numbers: seqs, unix milliseconds and counts all stay below 2^53,
 * and the rest of the gateway (like the SQLite store) deals in numbers.
 */
const types = {
    getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
}

const DEVICE_COLUMNS = `d.*, (SELECT count(*) FROM events e WHERE e.device_id = d.id) AS events`
const BLOCK_SUMMARY = `seq, type, boot, uptime_ms, unix_time, reading_count, lost_readings, lost_blocks, hash, received_at`

type Queryable = pg.Pool | pg.PoolClient

/** Brings the database's schema to version `target` (default: the newest). */
export async function migratePg(pool: pg.Pool, target = PG_MIGRATIONS.length) {
    const client = await pool.connect()
    try {
        await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK])
        try {
            await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)")
            const version = Number((await client.query("SELECT coalesce(max(version), 0) AS v FROM schema_migrations")).rows[0].v)
            if (version > PG_MIGRATIONS.length)
                throw new StoreError(
                    "the database has schema version " + version + ", newer than this gateway knows (" + PG_MIGRATIONS.length + ")"
                )
            for (let v = version; v < target; v++) {
                await client.query("BEGIN")
                try {
                    await client.query(PG_MIGRATIONS[v])
                    await client.query("INSERT INTO schema_migrations VALUES ($1, $2)", [v + 1, Date.now()])
                    await client.query("COMMIT")
                } catch (e) {
                    await client.query("ROLLBACK")
                    throw e
                }
            }
        } finally {
            await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK])
        }
    } finally {
        client.release()
    }
}

/** A pool on `url` whose every connection commits durably (synchronous_commit = on). */
export function pgPool(url: string, max = POOL_SIZE): pg.Pool {
    const pool = new pg.Pool({ connectionString: url, max, types, options: "-c synchronous_commit=on" })
    // An idle connection the server dropped (a restart): the pool replaces it; nothing to crash on.
    pool.on("error", () => {})
    return pool
}

export class PgStore implements GatewayStore {
    readonly kind = "postgres"
    readonly tokens: ReadTokenStore

    /** The transparency log's tables in this database: each batch's blocks get their leaves in its transaction. */
    readonly log: PgLogStore

    private constructor(readonly pool: pg.Pool) {
        this.log = new PgLogStore(pool)
        this.tokens = pgReadTokens(pool)
    }

    /** Connects to `url` and migrates the database. */
    static async open(url: string): Promise<PgStore> {
        const pool = pgPool(url)
        try {
            await migratePg(pool)
        } catch (e) {
            await pool.end()
            throw e
        }
        return new PgStore(pool)
    }

    close(): Promise<void> {
        return this.pool.end()
    }

    async metaGet(key: string): Promise<Buffer | undefined> {
        return (await this.pool.query("SELECT value FROM meta WHERE key = $1", [key])).rows[0]?.value
    }

    async metaInit(key: string, value: Buffer): Promise<Buffer> {
        await this.pool.query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", [key, value])
        return (await this.metaGet(key))!
    }

    async insertDevice(id: string, label: string | null, key0Sealed: Buffer, now: number): Promise<boolean> {
        const r = await this.pool.query(
            "INSERT INTO devices (id, label, key0_sealed, registered_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            [id, label, key0Sealed, now]
        )
        return r.rowCount === 1
    }

    device(id: string): Promise<DeviceRecord | undefined> {
        return readDevice(this.pool, id, false)
    }

    async devices(): Promise<DeviceRecord[]> {
        return (await this.pool.query(`SELECT ${DEVICE_COLUMNS} FROM devices d ORDER BY d.id`)).rows.map(deviceFromRow)
    }

    async hashAt(deviceId: string, seq: number): Promise<Buffer | undefined> {
        return (await this.pool.query("SELECT hash FROM blocks WHERE device_id = $1 AND seq = $2", [deviceId, seq])).rows[0]?.hash
    }

    blockAt(deviceId: string, seq: number): Promise<BlockRecord | undefined> {
        return readBlock(this.pool, deviceId, seq)
    }

    blocksAt(deviceId: string, seqs: readonly number[]): Promise<Map<number, StoredBlock>> {
        return readBlocksAt(this.pool, deviceId, seqs)
    }

    async blocks(deviceId: string, options: BlockRange = {}): Promise<BlockRecord[]> {
        const r = await this.pool.query(
            `SELECT ${options.withBytes ? "*" : BLOCK_SUMMARY} FROM blocks WHERE device_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
            [deviceId, options.fromSeq ?? 0, options.toSeq ?? Number.MAX_SAFE_INTEGER, options.limit ?? null]
        )
        return r.rows.map(blockFromRow)
    }

    async seqAfter(deviceId: string, fromSeq: number, toSeq: number, count: number): Promise<number | undefined> {
        const r = await this.pool.query(
            "SELECT seq FROM blocks WHERE device_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq LIMIT 1 OFFSET $4",
            [deviceId, fromSeq, toSeq, count]
        )
        return r.rows[0]?.seq
    }

    async recentBlockTimes(deviceId: string, limit: number): Promise<BlockTimeRow[]> {
        const r = await this.pool.query(
            `SELECT seq, type, boot, uptime_ms AS "uptimeMs" FROM blocks WHERE device_id = $1 ORDER BY seq DESC LIMIT $2`,
            [deviceId, limit]
        )
        return r.rows
    }

    async events(deviceId: string): Promise<EventRecord[]> {
        const r = await this.pool.query(
            `SELECT id, time, last_time AS "lastTime", count, kind, seq, message, block FROM events WHERE device_id = $1 ORDER BY id`,
            [deviceId]
        )
        return r.rows
    }

    async gaps(deviceId: string): Promise<GapRow[]> {
        const r = await this.pool.query(
            `SELECT g.seq, g.reason, g.first_lost_seq AS "firstLostSeq", g.from_boot, g.from_uptime_ms, b.lost_readings AS "lostReadings",
                b.lost_blocks AS "lostBlocks", b.boot, b.uptime_ms, b.unix_time
             FROM gaps g JOIN blocks b ON b.device_id = g.device_id AND b.seq = g.seq WHERE g.device_id = $1 ORDER BY g.seq`,
            [deviceId]
        )
        return r.rows.map(gapFromRow)
    }

    declaredTo(deviceId: string): Promise<number | undefined> {
        return readDeclaredTo(this.pool, deviceId)
    }

    signing(deviceId: string): Promise<SigningRecord | undefined> {
        return readSigning(this.pool, deviceId)
    }

    setSigningKey(deviceId: string, publicKey0: Buffer, now: number): Promise<void> {
        return writeSigningKey(this.pool, deviceId, publicKey0, now)
    }

    async checkpointBlocks(deviceId: string, toSeq: number): Promise<Buffer[]> {
        const r = await this.pool.query("SELECT bytes FROM blocks WHERE device_id = $1 AND type = $2 AND seq <= $3 ORDER BY seq", [
            deviceId,
            RECORD_CHECKPOINT,
            toSeq,
        ])
        return r.rows.map(row => row.bytes)
    }

    /**
     * One transaction on one connection: the device's row is locked first (FOR UPDATE), which
     * also makes it wait for any other gateway's transaction on the device to end. A device
     * not registered locks nothing: its work sees `undefined` and writes nothing.
     */
    async withDevice<T>(deviceId: string, work: (tx: DeviceTransaction) => Promise<T>): Promise<T> {
        const client = await this.pool.connect()
        let broken = false
        try {
            await client.query("BEGIN")
            try {
                const locked = await readDevice(client, deviceId, true)
                const result = await work(this.transaction(client, deviceId, locked))
                await client.query("COMMIT")
                return result
            } catch (e) {
                await client.query("ROLLBACK").catch(() => {
                    broken = true
                })
                throw e
            }
        } finally {
            client.release(broken)
        }
    }

    commitBatch(w: BatchWrite): Promise<void> {
        return this.withDevice(w.deviceId, tx => tx.commitBatch(w))
    }

    closeChain(c: ChainClosing): Promise<number> {
        return this.withDevice(c.previous.id, tx => tx.closeChain(c))
    }

    private transaction(client: pg.PoolClient, deviceId: string, locked: DeviceRecord | undefined): DeviceTransaction {
        return {
            device: async () => locked,
            blocksAt: seqs => readBlocksAt(client, deviceId, seqs),
            blockAt: seq => readBlock(client, deviceId, seq),
            declaredTo: () => readDeclaredTo(client, deviceId),
            signing: () => readSigning(client, deviceId),
            commitBatch: async w => {
                if (w.deviceId !== deviceId) throw new StoreError("a batch of device " + w.deviceId + " in a transaction of " + deviceId)
                await this.applyBatch(client, w)
            },
            closeChain: async c => {
                if (c.previous.id !== deviceId)
                    throw new StoreError("a succession of " + c.previous.id + " in a transaction of " + deviceId)
                return this.applyCloseChain(client, c)
            },
        }
    }

    private async applyBatch(client: pg.PoolClient, w: BatchWrite) {
        await recordEvents(client, w.deviceId, w.now, w.events)
        if (w.blocks.length > 0) {
            const b = w.blocks
            // One statement for the whole batch: the columns as arrays, unnested into rows.
            await client.query(
                `INSERT INTO blocks (device_id, seq, type, boot, uptime_ms, unix_time, reading_count, lost_readings, lost_blocks, hash, bytes, received_at)
                 SELECT $1, s, t, bo, u, x, rc, lr, lb, h, by, $12 FROM unnest($2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[],
                    $7::int[], $8::bigint[], $9::bigint[], $10::bytea[], $11::bytea[]) AS r(s, t, bo, u, x, rc, lr, lb, h, by)`,
                [
                    w.deviceId,
                    b.map(x => x.seq),
                    b.map(x => x.type),
                    b.map(x => x.boot),
                    b.map(x => x.uptimeMs),
                    b.map(x => x.unixTime),
                    b.map(x => x.readingCount),
                    b.map(x => x.lostReadings),
                    b.map(x => x.lostBlocks),
                    b.map(x => x.hash),
                    b.map(x => x.bytes),
                    w.now,
                ]
            )
            for (const x of b)
                if (x.gap)
                    await client.query(
                        "INSERT INTO gaps (device_id, seq, reason, first_lost_seq, from_boot, from_uptime_ms) VALUES ($1, $2, $3, $4, $5, $6)",
                        [w.deviceId, x.seq, x.gap.reason, x.gap.firstLostSeq, x.gap.from.boot, x.gap.from.uptimeMs]
                    )
            const t = batchTotals(b)
            await client.query(
                `UPDATE devices SET head_seq = $1, head_hash = $2, block_count = block_count + $3, readings = readings + $4,
                    gap_records = gap_records + $5, readings_lost = readings_lost + $6, blocks_lost = blocks_lost + $7 WHERE id = $8`,
                [t.head.seq, t.head.hash, b.length, t.readings, t.gaps, t.lostReadings, t.lostBlocks, w.deviceId]
            )
        }
        if (w.seen)
            await client.query("UPDATE devices SET last_seen = $1, reported_backlog = coalesce($2, reported_backlog) WHERE id = $3", [
                w.now,
                w.seen.backlog ?? null,
                w.deviceId,
            ])
        if (w.signing) {
            const g = w.signing
            await client.query(
                "UPDATE signing_keys SET key_index = $1, public_key = $2, signed_seq = $3, dropped = $4, broken = $5 WHERE device_id = $6",
                [g.keyIndex, g.publicKey ?? null, g.signedSeq, g.dropped ? 1 : 0, g.broken ?? null, w.deviceId]
            )
        }
        // Last before the commit: the transparency log's leaves, from its counter row, whose lock
        // every ingest waits on until this transaction commits (tlog/logstore.ts).
        if (w.blocks.length > 0) await PgLogStore.appendInTransaction(client, w.deviceId, w.blocks)
    }

    private async applyCloseChain(client: pg.PoolClient, c: ChainClosing): Promise<number> {
        const d = c.previous
        const chain = Number(
            (await client.query("SELECT coalesce(max(chain), 0) + 1 AS chain FROM succession_chains WHERE device_id = $1", [d.id])).rows[0]
                .chain
        )
        await client.query("INSERT INTO succession_chains VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", [
            d.id,
            chain,
            d.key0Sealed,
            d.headSeq,
            d.headHash,
            c.successorLink,
            c.linkMatches ? 1 : 0,
            c.now,
        ])
        await client.query(
            `INSERT INTO succession_blocks SELECT device_id, $2, seq, type, boot, uptime_ms, unix_time, reading_count, lost_readings, lost_blocks, hash, bytes, received_at
             FROM blocks WHERE device_id = $1`,
            [d.id, chain]
        )
        // Takes the chain's gap index rows with it (ON DELETE CASCADE).
        await client.query("DELETE FROM blocks WHERE device_id = $1", [d.id])
        await client.query(
            `UPDATE devices SET key0_sealed = $1, head_seq = -1, head_hash = NULL, block_count = 0, readings = 0, gap_records = 0,
                readings_lost = 0, blocks_lost = 0, reported_backlog = NULL WHERE id = $2`,
            [c.key0Sealed, d.id]
        )
        // The old chain's signing key ends with it; the new chain's (if any) starts afresh.
        await client.query("DELETE FROM signing_keys WHERE device_id = $1", [d.id])
        if (c.publicKey0) await writeSigningKey(client, d.id, c.publicKey0, c.now)
        await recordEvents(client, d.id, c.now, c.events(chain))
        return chain
    }

    async deviceCount(): Promise<number> {
        return Number((await this.pool.query("SELECT count(*) AS n FROM devices")).rows[0].n)
    }

    async counts(): Promise<Record<string, number>> {
        const r = await this.pool.query(
            "SELECT (SELECT count(*) FROM devices) AS devices, (SELECT count(*) FROM blocks) AS blocks, (SELECT count(*) FROM events) AS events"
        )
        const row = r.rows[0]
        return { devices: Number(row.devices), blocks: Number(row.blocks), events: Number(row.events) }
    }
}

async function readDevice(q: Queryable, id: string, lock: boolean): Promise<DeviceRecord | undefined> {
    const r = await q.query(`SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = $1${lock ? " FOR UPDATE OF d" : ""}`, [id])
    return r.rows[0] ? deviceFromRow(r.rows[0]) : undefined
}

async function readBlock(q: Queryable, deviceId: string, seq: number): Promise<BlockRecord | undefined> {
    const r = await q.query("SELECT * FROM blocks WHERE device_id = $1 AND seq = $2", [deviceId, seq])
    return r.rows[0] ? blockFromRow(r.rows[0]) : undefined
}

/** DECLARED_TO_SQL (gapindex.ts) in PostgreSQL's placeholders. */
async function readSigning(q: Queryable, deviceId: string): Promise<SigningRecord | undefined> {
    const r = await q.query("SELECT * FROM signing_keys WHERE device_id = $1", [deviceId])
    return r.rows.length ? signingFromRow(r.rows[0]) : undefined
}

async function writeSigningKey(q: Queryable, deviceId: string, publicKey0: Buffer, now: number): Promise<void> {
    await q.query(
        `INSERT INTO signing_keys (device_id, public_key0, registered_at, public_key) VALUES ($1, $2, $3, $2)
         ON CONFLICT (device_id) DO UPDATE SET public_key0 = $2, registered_at = $3, key_index = 0, public_key = $2, signed_seq = -1,
            dropped = 0, broken = NULL`,
        [deviceId, publicKey0, now]
    )
}

async function readDeclaredTo(q: Queryable, deviceId: string): Promise<number | undefined> {
    const r = await q.query(DECLARED_TO_SQL.replace("?", "$1"), [deviceId])
    const v = Object.values(r.rows[0] ?? {})[0]
    return v === null || v === undefined ? undefined : Number(v)
}

async function readBlocksAt(q: Queryable, deviceId: string, seqs: readonly number[]): Promise<Map<number, StoredBlock>> {
    const found = new Map<number, StoredBlock>()
    if (seqs.length === 0) return found
    const r = await q.query("SELECT seq, bytes, hash FROM blocks WHERE device_id = $1 AND seq = ANY($2::bigint[])", [deviceId, [...seqs]])
    for (const row of r.rows) found.set(row.seq, { bytes: row.bytes, hash: row.hash })
    return found
}

async function recordEvents(client: pg.PoolClient, deviceId: string, now: number, events: NewEvent[]) {
    for (const e of events)
        await client.query(
            `INSERT INTO events (device_id, time, last_time, kind, seq, message, block, block_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (device_id, kind, seq, block_hash) DO UPDATE SET count = events.count + 1, last_time = excluded.last_time`,
            [deviceId, now, now, e.kind, e.seq, e.message, e.block, e.block ? hashForEvent(e.block) : null]
        )
    for (const kind of FLOODABLE_EVENT_KINDS)
        if (events.some(e => e.kind === kind))
            await client.query(
                `DELETE FROM events WHERE device_id = $1 AND kind = $2 AND id NOT IN
                    (SELECT id FROM events WHERE device_id = $1 AND kind = $2 ORDER BY last_time DESC, id DESC LIMIT $3)`,
                [deviceId, kind, MAX_FLOOD_EVENTS_PER_DEVICE]
            )
}
