/**
 * The log's tables in the gateway's SQLite database (LogStore, logstore.ts). The gateway store's
 * batch transaction calls `appendInTransaction` after writing the blocks, so a block and its
 * leaf commit together (synchronous=FULL: both durable before the ack).
 */
import type Database from "better-sqlite3"
import { encodeLeaf, LEAF_BYTES, LEAF_VERSION, LeafEntry } from "../../lib/tlog/leaf"
import type { TileKey, TileWrite } from "../../lib/tlog/tiles"
import { LogStore, StoredCheckpoint, tileMapKey } from "./logstore"

/**
 * The migration that adds the log (one entry of store.ts's MIGRATIONS). Blocks stored before it
 * are logged by it, in the order they arrived (closed chains' blocks under their chain number).
 */
export const LOG_MIGRATION = `CREATE TABLE log_size (id INTEGER PRIMARY KEY CHECK (id = 0), size INTEGER NOT NULL);
INSERT INTO log_size VALUES (0, 0);
CREATE TABLE log_integrated (id INTEGER PRIMARY KEY CHECK (id = 0), size INTEGER NOT NULL);
INSERT INTO log_integrated VALUES (0, 0);
CREATE TABLE log_leaves (
    idx INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    chain INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    block_hash BLOB NOT NULL
);
CREATE UNIQUE INDEX log_leaves_by_block ON log_leaves (device_id, chain, seq);
CREATE TABLE log_tiles (level INTEGER NOT NULL, idx INTEGER NOT NULL, nodes BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE log_checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, time INTEGER NOT NULL, note TEXT NOT NULL);
INSERT INTO log_leaves (idx, device_id, chain, seq, block_hash)
    SELECT row_number() OVER (ORDER BY received_at, device_id, chain, seq) - 1, device_id, chain, seq, hash FROM (
        SELECT device_id, chain - 1 AS chain, seq, hash, received_at FROM succession_blocks
        UNION ALL
        SELECT b.device_id, (SELECT count(*) FROM succession_chains c WHERE c.device_id = b.device_id), b.seq, b.hash, b.received_at FROM blocks b);
UPDATE log_size SET size = (SELECT count(*) FROM log_leaves);`

/**
 * The entries of leaves [?, ?) made by SQLite as one value: each row as the hex of its 47 bytes
 * (leaf.ts: version, device id, chain u16, seq u32, block hash), concatenated in index order and
 * unhexed. The auditor reads every entry of the log through readEntries, and building them from
 * rows in JavaScript costs about half as much again. The same statement counts the rows that
 * are well-formed entries (a device id of 16 lower-case characters, which unhex turns into NULL
 * unless they are hex digits; a chain and seq that fit their fields; a 32-byte hash) and the
 * indices' range: readEntries uses the value only when every row is one and no index is missing.
 */
const PACKED_ENTRIES_SQL = `SELECT count(*) AS n, min(idx) AS first, max(idx) AS last,
    total(typeof(device_id) = 'text' AND length(device_id) = 16 AND device_id = lower(device_id)
        AND typeof(chain) = 'integer' AND chain BETWEEN 0 AND 65535
        AND typeof(seq) = 'integer' AND seq BETWEEN 0 AND 4294967295
        AND typeof(block_hash) = 'blob' AND length(block_hash) = 32) AS good,
    unhex(group_concat(printf('${LEAF_VERSION.toString(16).padStart(2, "0")}%s%04x%08x', device_id, chain, seq) || hex(block_hash), '' ORDER BY idx)) AS entries
    FROM log_leaves WHERE idx >= ? AND idx < ?`

/** A block just written, as the log needs it. */
export interface LoggedBlock {
    seq: number
    hash: Buffer
}

export class SqliteLogStore implements LogStore {
    private readonly s: Record<string, Database.Statement>
    private readonly putTilesTx: (from: number, to: number, tiles: readonly TileWrite[]) => boolean
    private readonly appendTx: (entries: readonly LeafEntry[]) => number
    /** The latest checkpoint read, by its size (latestCheckpoint). */
    private latest: StoredCheckpoint | undefined

    constructor(readonly db: Database.Database) {
        this.s = {
            size: db.prepare(`SELECT size FROM log_size WHERE id = 0`).pluck(),
            integrated: db.prepare(`SELECT size FROM log_integrated WHERE id = 0`).pluck(),
            take: db.prepare(`UPDATE log_size SET size = size + ? WHERE id = 0 RETURNING size`).pluck(),
            chainOf: db.prepare(`SELECT count(*) FROM succession_chains WHERE device_id = ?`).pluck(),
            insertLeaf: db.prepare(`INSERT INTO log_leaves (idx, device_id, chain, seq, block_hash) VALUES (?, ?, ?, ?, ?)`),
            entriesPacked: db.prepare(PACKED_ENTRIES_SQL),
            entries: db
                .prepare(`SELECT idx, device_id, chain, seq, block_hash FROM log_leaves WHERE idx >= ? AND idx < ? ORDER BY idx`)
                .raw(true),
            latestSize: db.prepare(`SELECT max(size) FROM log_checkpoints`).pluck(),
            tile: db.prepare(`SELECT nodes FROM log_tiles WHERE level = ? AND idx = ?`).pluck(),
            putTile: db.prepare(`INSERT OR REPLACE INTO log_tiles (level, idx, nodes) VALUES (?, ?, ?)`),
            moveIntegrated: db.prepare(`UPDATE log_integrated SET size = ? WHERE id = 0 AND size = ?`),
            latest: db.prepare(`SELECT * FROM log_checkpoints ORDER BY size DESC LIMIT 1`),
            checkpointAt: db.prepare(`SELECT * FROM log_checkpoints WHERE size = ?`),
            insertCheckpoint: db.prepare(`INSERT OR IGNORE INTO log_checkpoints (size, root, time, note) VALUES (?, ?, ?, ?)`),
            leafIndex: db.prepare(`SELECT idx FROM log_leaves WHERE device_id = ? AND chain = ? AND seq = ?`).pluck(),
            // Seqs grow with the index within a chain: walk back from the newest to the first below `size`.
            loggedUpTo: db
                .prepare(`SELECT seq FROM log_leaves WHERE device_id = ? AND chain = ? AND idx < ? ORDER BY seq DESC LIMIT 1`)
                .pluck(),
        }
        this.putTilesTx = db.transaction((from: number, to: number, tiles: readonly TileWrite[]) => {
            if (this.s.moveIntegrated.run(to, from).changes !== 1) return false
            for (const t of tiles) this.s.putTile.run(t.level, t.index, t.stored)
            return true
        })
        this.appendTx = db.transaction((entries: readonly LeafEntry[]) => {
            const end = this.s.take.get(entries.length) as number
            let idx = end - entries.length
            for (const e of entries) this.s.insertLeaf.run(idx++, e.deviceId, e.chain, e.seq, e.hash)
            return end - entries.length
        })
    }

    /**
     * Inside the caller's open transaction, after the device's blocks were written: assigns
     * their leaves. The counter row is updated last, so the write lock it implies on a server
     * database is held for the least time. Returns the first index.
     */
    appendInTransaction(deviceId: string, blocks: readonly LoggedBlock[]): number {
        if (!this.db.inTransaction) throw new Error("appendInTransaction outside a transaction")
        const chain = this.s.chainOf.get(deviceId) as number
        const end = this.s.take.get(blocks.length) as number
        let idx = end - blocks.length
        for (const b of blocks) this.s.insertLeaf.run(idx++, deviceId, chain, b.seq, b.hash)
        return end - blocks.length
    }

    /** The device's current chain number (key successions before it). */
    chainOf(deviceId: string): number {
        return this.s.chainOf.get(deviceId) as number
    }

    async currentChain(deviceId: string): Promise<number> {
        return this.chainOf(deviceId)
    }

    async sequencedSize(): Promise<number> {
        return this.s.size.get() as number
    }

    async integratedSize(): Promise<number> {
        return this.s.integrated.get() as number
    }

    async readEntries(from: number, to: number): Promise<Buffer[]> {
        const packed = this.s.entriesPacked.get(from, to) as {
            n: number
            first: number
            last: number
            good: number
            entries: Buffer | null
        }
        if (packed.n === 0) return []
        if (packed.good === packed.n && packed.first === from && packed.last === from + packed.n - 1 && packed.entries) {
            const out: Buffer[] = []
            for (let i = 0; i < packed.n; i++) out.push(packed.entries.subarray(i * LEAF_BYTES, (i + 1) * LEAF_BYTES))
            return out
        }
        // A hole, or a row that is no entry: row by row, which stops at the hole or throws naming the row.
        const rows = this.s.entries.all(from, to) as [number, string, number, number, Buffer][]
        const block = Buffer.allocUnsafe(rows.length * LEAF_BYTES)
        const out: Buffer[] = []
        for (let i = 0; i < rows.length; i++) {
            const [idx, deviceId, chain, seq, hash] = rows[i]
            // Committed indices have no holes (logstore.ts); stop at one rather than misnumber.
            if (idx !== from + i) break
            out.push(encodeLeaf({ deviceId, chain, seq, hash }, block, i * LEAF_BYTES))
        }
        return out
    }

    async readTiles(keys: readonly TileKey[]): Promise<Map<string, Buffer>> {
        const out = new Map<string, Buffer>()
        for (const k of keys) {
            const nodes = this.s.tile.get(k.level, k.index) as Buffer | undefined
            if (nodes) out.set(tileMapKey(k), nodes)
        }
        return out
    }

    async putTiles(from: number, to: number, tiles: readonly TileWrite[]): Promise<boolean> {
        return this.putTilesTx(from, to, tiles)
    }

    async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
        // Every proof asks. A stored checkpoint never changes (first writer wins), so the row is
        // read again only when a larger size was stored (by this gateway's integrator or another process).
        const size = this.s.latestSize.get() as number | null
        if (size === null) return undefined
        if (this.latest?.size !== size) this.latest = checkpointFromRow(this.s.latest.get())
        return this.latest
    }

    async checkpointAt(size: number): Promise<StoredCheckpoint | undefined> {
        return checkpointFromRow(this.s.checkpointAt.get(size))
    }

    async putCheckpoint(c: StoredCheckpoint): Promise<StoredCheckpoint> {
        this.s.insertCheckpoint.run(c.size, c.root, c.time, c.note)
        return checkpointFromRow(this.s.checkpointAt.get(c.size))
    }

    async leafIndex(deviceId: string, chain: number, seq: number): Promise<number | undefined> {
        return (this.s.leafIndex.get(deviceId, chain, seq) as number) ?? undefined
    }

    async loggedUpTo(deviceId: string, chain: number, size: number): Promise<number> {
        return (this.s.loggedUpTo.get(deviceId, chain, size) as number | null) ?? -1
    }

    async appendLeaves(entries: readonly LeafEntry[]): Promise<number> {
        return this.appendTx(entries)
    }
}

function checkpointFromRow(r: any): StoredCheckpoint | undefined {
    return r ? { size: r.size, root: r.root, time: r.time, note: r.note } : undefined
}
