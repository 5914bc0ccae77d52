/**
 * The log's tables on PostgreSQL (LogStore, logstore.ts), for several gateways on one database.
 * The batch transaction of the PostgreSQL gateway store calls `appendInTransaction` with its
 * client as its last statement: one statement takes the leaf indices from the counter row and
 * inserts the leaves, so the row lock every ingest waits on is held from there to the commit
 * only. Indices then commit in order and without holes (a transaction that rolls back rolls its
 * increment back, and the next one waits for that). The integrator's compare-and-set is on a row
 * of its own (log_integrated), so integrating never blocks ingest.
 */
import type { Pool, PoolClient } from "pg"
import { encodeLeaf, LeafEntry } from "../../lib/tlog/leaf"
import type { TileKey, TileWrite } from "../../lib/tlog/tiles"
import { LogStore, StoredCheckpoint, tileMapKey } from "./logstore"
import type { LoggedBlock } from "./sqlitelogstore"

/**
 * The log's schema on PostgreSQL (one migration of the PostgreSQL store, pgstore.ts). Blocks a
 * database already holds are logged by it in the order they arrived (as the SQLite migration).
 */
export const PG_LOG_MIGRATION = `CREATE TABLE log_size (id INTEGER PRIMARY KEY CHECK (id = 0), size BIGINT NOT NULL);
INSERT INTO log_size VALUES (0, 0);
CREATE TABLE log_integrated (id INTEGER PRIMARY KEY CHECK (id = 0), size BIGINT NOT NULL);
INSERT INTO log_integrated VALUES (0, 0);
CREATE TABLE log_leaves (
    idx BIGINT PRIMARY KEY,
    device_id TEXT NOT NULL,
    chain INTEGER NOT NULL,
    seq BIGINT NOT NULL,
    block_hash BYTEA NOT NULL
);
CREATE UNIQUE INDEX log_leaves_by_block ON log_leaves (device_id, chain, seq);
CREATE TABLE log_tiles (level INTEGER NOT NULL, idx BIGINT NOT NULL, nodes BYTEA NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE log_checkpoints (size BIGINT PRIMARY KEY, root BYTEA NOT NULL, time BIGINT NOT NULL, note TEXT NOT NULL);
INSERT INTO log_leaves (idx, device_id, chain, seq, block_hash)
    SELECT row_number() OVER (ORDER BY received_at, device_id, chain, seq) - 1, device_id, chain, seq, hash FROM (
        SELECT device_id, chain - 1 AS chain, seq, hash, received_at FROM succession_blocks
        UNION ALL
        SELECT b.device_id, (SELECT count(*) FROM succession_chains c WHERE c.device_id = b.device_id), b.seq, b.hash, b.received_at FROM blocks b) AS stored;
UPDATE log_size SET size = (SELECT count(*) FROM log_leaves);`

/** Takes n indices and inserts the leaves in one statement; $1 n, then the columns as arrays. */
const APPEND_SQL = `WITH taken AS (UPDATE log_size SET size = size + $1 WHERE id = 0 RETURNING size)
INSERT INTO log_leaves (idx, device_id, chain, seq, block_hash)
SELECT (SELECT size FROM taken) - $1 + l.ord - 1, l.device_id, l.chain, l.seq, l.block_hash
FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bytea[]) WITH ORDINALITY AS l(device_id, chain, seq, block_hash, ord)
RETURNING idx`

/** The chain number of a device's current chain: key successions before it. */
const CHAIN_SQL = `SELECT count(*)::int AS n FROM succession_chains WHERE device_id = $1`

function num(v: string | number): number {
    return typeof v === "number" ? v : Number(v)
}

function checkpointFromRow(r: any): StoredCheckpoint | undefined {
    return r ? { size: num(r.size), root: r.root, time: num(r.time), note: r.note } : undefined
}

export class PgLogStore implements LogStore {
    constructor(private readonly pool: Pool) {}

    /**
     * Inside the caller's transaction (its client), as its last statement: assigns the leaves of
     * the blocks just written. Returns the first index. `chain` defaults to the device's current one.
     */
    static async appendInTransaction(
        client: PoolClient,
        deviceId: string,
        blocks: readonly LoggedBlock[],
        chain?: number
    ): Promise<number> {
        if (blocks.length === 0) throw new RangeError("no blocks to log")
        const c = chain ?? (await client.query(CHAIN_SQL, [deviceId])).rows[0].n
        return appendRows(
            client,
            blocks.map(b => ({ deviceId, chain: c, seq: b.seq, hash: b.hash }))
        )
    }

    async currentChain(deviceId: string): Promise<number> {
        return (await this.pool.query(CHAIN_SQL, [deviceId])).rows[0].n
    }

    async sequencedSize(): Promise<number> {
        return num((await this.pool.query(`SELECT size FROM log_size WHERE id = 0`)).rows[0].size)
    }

    async integratedSize(): Promise<number> {
        return num((await this.pool.query(`SELECT size FROM log_integrated WHERE id = 0`)).rows[0].size)
    }

    async readEntries(from: number, to: number): Promise<Buffer[]> {
        const { rows } = await this.pool.query(
            `SELECT idx, device_id, chain, seq, block_hash FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
            [from, to]
        )
        const out: Buffer[] = []
        let expect = from
        for (const r of rows) {
            if (num(r.idx) !== expect) break
            out.push(encodeLeaf({ deviceId: r.device_id, chain: r.chain, seq: num(r.seq), hash: r.block_hash }))
            expect++
        }
        return out
    }

    async readTiles(keys: readonly TileKey[]): Promise<Map<string, Buffer>> {
        const out = new Map<string, Buffer>()
        if (keys.length === 0) return out
        const { rows } = await this.pool.query(
            `SELECT t.level, t.idx, t.nodes FROM log_tiles t JOIN unnest($1::int[], $2::bigint[]) AS k(level, idx) ON t.level = k.level AND t.idx = k.idx`,
            [keys.map(k => k.level), keys.map(k => k.index)]
        )
        for (const r of rows) out.set(tileMapKey({ level: r.level, index: num(r.idx) }), r.nodes)
        return out
    }

    async putTiles(from: number, to: number, tiles: readonly TileWrite[]): Promise<boolean> {
        const client = await this.pool.connect()
        try {
            await client.query("BEGIN")
            const moved = await client.query(`UPDATE log_integrated SET size = $1 WHERE id = 0 AND size = $2`, [to, from])
            if (moved.rowCount !== 1) {
                await client.query("ROLLBACK")
                return false
            }
            if (tiles.length > 0)
                await client.query(
                    `INSERT INTO log_tiles (level, idx, nodes) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[])
                     ON CONFLICT (level, idx) DO UPDATE SET nodes = excluded.nodes`,
                    [tiles.map(t => t.level), tiles.map(t => t.index), tiles.map(t => t.stored)]
                )
            await client.query("COMMIT")
            return true
        } catch (e) {
            await client.query("ROLLBACK").catch((): undefined => undefined)
            throw e
        } finally {
            client.release()
        }
    }

    async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
        return checkpointFromRow((await this.pool.query(`SELECT * FROM log_checkpoints ORDER BY size DESC LIMIT 1`)).rows[0])
    }

    async checkpointAt(size: number): Promise<StoredCheckpoint | undefined> {
        return checkpointFromRow((await this.pool.query(`SELECT * FROM log_checkpoints WHERE size = $1`, [size])).rows[0])
    }

    async putCheckpoint(c: StoredCheckpoint): Promise<StoredCheckpoint> {
        await this.pool.query(
            `INSERT INTO log_checkpoints (size, root, time, note) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING`,
            [c.size, c.root, c.time, c.note]
        )
        return this.checkpointAt(c.size)
    }

    async leafIndex(deviceId: string, chain: number, seq: number): Promise<number | undefined> {
        const r = (
            await this.pool.query(`SELECT idx FROM log_leaves WHERE device_id = $1 AND chain = $2 AND seq = $3`, [deviceId, chain, seq])
        ).rows[0]
        return r ? num(r.idx) : undefined
    }

    async loggedUpTo(deviceId: string, chain: number, size: number): Promise<number> {
        const r = (
            await this.pool.query(`SELECT seq FROM log_leaves WHERE device_id = $1 AND chain = $2 AND idx < $3 ORDER BY seq DESC LIMIT 1`, [
                deviceId,
                chain,
                size,
            ])
        ).rows[0]
        return r ? num(r.seq) : -1
    }

    async appendLeaves(entries: readonly LeafEntry[]): Promise<number> {
        const client = await this.pool.connect()
        try {
            await client.query("BEGIN")
            const first = await appendRows(client, entries)
            await client.query("COMMIT")
            return first
        } catch (e) {
            await client.query("ROLLBACK").catch((): undefined => undefined)
            throw e
        } finally {
            client.release()
        }
    }
}

async function appendRows(client: PoolClient, entries: readonly LeafEntry[]): Promise<number> {
    const { rows } = await client.query(APPEND_SQL, [
        entries.length,
        entries.map(e => e.deviceId),
        entries.map(e => e.chain),
        entries.map(e => e.seq),
        entries.map(e => e.hash),
    ])
    return rows.reduce((min, r) => Math.min(min, num(r.idx)), Infinity)
}
