/**
 * Moving a site to a fleet: copies a SQLite gateway database into PostgreSQL, row for row.
 * Device keys stay sealed under the master key (the same key opens both). Resumable and
 * idempotent: every row is written with ON CONFLICT, blocks go in pages (one transaction each,
 * with their gap index rows) from the first seq the target lacks, and a device's totals and
 * head are written last, once its blocks are all there; so a copy cut short at any point is
 * finished by running it again, and a finished one run again changes nothing. Then it compares
 * both databases, device by device (rows, a digest of every block and event), and says what differs.
 *
 * The source is read as it is: stop its gateway first (a block it stores meanwhile would be
 * copied or not). A device the target holds more of, or under another key, is refused: a
 * fleet gateway already serves it, and the copy must not rewind it.
 */
import { createHash } from "node:crypto"
import type pg from "pg"
import { PgStore } from "./pgstore"
import { SqliteStore, StoreError } from "./store"

/** Blocks per page (one transaction in the target, one progress report). */
export const COPY_PAGE_BLOCKS = 2000

export interface CopyProgress {
    device: string
    /** Devices done before this one, and in all. */
    deviceIndex: number
    devices: number
    /** Blocks of this device in the target now, and in the source. */
    blocks: number
    sourceBlocks: number
}

export interface CopyReport {
    devices: number
    /** Blocks written by this run (0 when run again on a finished copy). */
    blocksCopied: number
    events: number
    successionChains: number
    /** What the verification found different (empty: the copy is exact). */
    differences: string[]
}

const DEVICE_FIELDS = [
    "label",
    "registered_at",
    "last_seen",
    "reported_backlog",
    "head_seq",
    "head_hash",
    "block_count",
    "readings",
    "gap_records",
    "readings_lost",
    "blocks_lost",
]
const BLOCK_FIELDS = [
    "seq",
    "type",
    "boot",
    "uptime_ms",
    "unix_time",
    "reading_count",
    "lost_readings",
    "lost_blocks",
    "hash",
    "bytes",
    "received_at",
]
const BLOCK_TYPES = ["bigint", "int", "bigint", "bigint", "bigint", "int", "bigint", "bigint", "bytea", "bytea", "bigint"]

/** Copies `source` into `target` (both open and migrated), then verifies. */
export async function copyStore(
    source: SqliteStore,
    target: PgStore,
    options: { onProgress?: (p: CopyProgress) => void; pageBlocks?: number } = {}
): Promise<CopyReport> {
    const onProgress = options.onProgress ?? (() => {})
    const pageBlocks = options.pageBlocks ?? COPY_PAGE_BLOCKS
    const db = source.db
    const pool = target.pool
    await copyMeta(db, pool)
    const devices = db.prepare("SELECT * FROM devices ORDER BY id").all() as any[]
    let blocksCopied = 0
    for (const [index, d] of devices.entries()) {
        await claimDevice(pool, d)
        await copySuccessions(db, pool, d.id)
        const sourceBlocks = db.prepare("SELECT count(*) FROM blocks WHERE device_id = ?").pluck().get(d.id) as number
        let have = await targetBlockCount(pool, d.id)
        onProgress({ device: d.id, deviceIndex: index, devices: devices.length, blocks: have, sourceBlocks })
        let after = await targetMaxSeq(pool, d.id)
        for (;;) {
            const page = db
                .prepare(`SELECT ${BLOCK_FIELDS.join(", ")} FROM blocks WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?`)
                .all(d.id, after, pageBlocks) as any[]
            if (page.length === 0) break
            blocksCopied += await copyBlockPage(db, pool, d.id, page)
            after = page[page.length - 1].seq
            have += page.length
            onProgress({ device: d.id, deviceIndex: index, devices: devices.length, blocks: have, sourceBlocks })
        }
        await copyEvents(db, pool, d.id)
        await copySigningKey(db, pool, d.id)
        // Last: the head and totals, now that the blocks they describe are all there.
        await pool.query(`UPDATE devices SET ${DEVICE_FIELDS.map((f, i) => f + " = $" + (i + 2)).join(", ")} WHERE id = $1`, [
            d.id,
            ...DEVICE_FIELDS.map(f => d[f]),
        ])
    }
    await copyLog(db, pool, pageBlocks)
    // Later events of the fleet get ids after the copied ones.
    await pool.query("SELECT setval(pg_get_serial_sequence('events', 'id'), greatest((SELECT max(id) FROM events), 1))")
    const differences = await verifyCopy(source, target)
    return {
        devices: devices.length,
        blocksCopied,
        events: db.prepare("SELECT count(*) FROM events").pluck().get() as number,
        successionChains: db.prepare("SELECT count(*) FROM succession_chains").pluck().get() as number,
        differences,
    }
}

/** The master key check (and any other meta entry) must be the source's: the same master key opens both. */
async function copyMeta(db: SqliteStore["db"], pool: pg.Pool) {
    for (const m of db.prepare("SELECT key, value FROM meta").all() as { key: string; value: Buffer }[]) {
        await pool.query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", [m.key, m.value])
        const held = (await pool.query("SELECT value FROM meta WHERE key = $1", [m.key])).rows[0].value as Buffer
        if (!held.equals(m.value))
            throw new StoreError(
                `the target database's ${m.key} differs from the source's: it was first used with another master key (or another site); nothing was copied`
            )
    }
}

/** The device's row in the target, created bare if absent; refused if the target holds another chain of it. */
async function claimDevice(pool: pg.Pool, d: any) {
    await pool.query("INSERT INTO devices (id, label, key0_sealed, registered_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING", [
        d.id,
        d.label,
        d.key0_sealed,
        d.registered_at,
    ])
    const t = (await pool.query("SELECT key0_sealed, head_seq FROM devices WHERE id = $1", [d.id])).rows[0]
    if (!(t.key0_sealed as Buffer).equals(d.key0_sealed))
        throw new StoreError(`device ${d.id} is in the target under another key (a key succession there?): refusing to copy over it`)
    if (t.head_seq > d.head_seq)
        throw new StoreError(
            `the target holds device ${d.id} up to seq ${t.head_seq}, past the source's ${d.head_seq}: a fleet gateway already serves it; refusing to rewind it`
        )
}

async function targetMaxSeq(pool: pg.Pool, id: string): Promise<number> {
    return Number((await pool.query("SELECT coalesce(max(seq), -1) AS s FROM blocks WHERE device_id = $1", [id])).rows[0].s)
}

async function targetBlockCount(pool: pg.Pool, id: string): Promise<number> {
    return Number((await pool.query("SELECT count(*) AS n FROM blocks WHERE device_id = $1", [id])).rows[0].n)
}

/** One page of blocks and their gap index rows, in one transaction; returns the blocks written. */
async function copyBlockPage(db: SqliteStore["db"], pool: pg.Pool, id: string, page: any[]): Promise<number> {
    const gaps = db
        .prepare("SELECT * FROM gaps WHERE device_id = ? AND seq >= ? AND seq <= ? ORDER BY seq")
        .all(id, page[0].seq, page[page.length - 1].seq) as any[]
    const client = await pool.connect()
    try {
        await client.query("BEGIN")
        const r = await client.query(
            `INSERT INTO blocks (device_id, ${BLOCK_FIELDS.join(", ")}) SELECT $1, * FROM unnest(${BLOCK_TYPES.map((t, i) => "$" + (i + 2) + "::" + t + "[]").join(", ")})
             ON CONFLICT (device_id, seq) DO NOTHING`,
            [id, ...BLOCK_FIELDS.map(f => page.map(b => b[f]))]
        )
        for (const g of gaps)
            await client.query(
                `INSERT INTO gaps (device_id, seq, reason, first_lost_seq, from_boot, from_uptime_ms) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (device_id, seq) DO NOTHING`,
                [id, g.seq, g.reason, g.first_lost_seq, g.from_boot, g.from_uptime_ms]
            )
        await client.query("COMMIT")
        return r.rowCount ?? 0
    } catch (e) {
        await client.query("ROLLBACK").catch(() => {})
        throw e
    } finally {
        client.release()
    }
}

async function copySuccessions(db: SqliteStore["db"], pool: pg.Pool, id: string) {
    for (const c of db.prepare("SELECT * FROM succession_chains WHERE device_id = ? ORDER BY chain").all(id) as any[]) {
        await pool.query(
            `INSERT INTO succession_chains VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (device_id, chain) DO NOTHING`,
            [c.device_id, c.chain, c.key0_sealed, c.closed_head_seq, c.closed_head_hash, c.successor_link, c.link_matches, c.closed_at]
        )
        let after = -1
        for (;;) {
            const page = db
                .prepare(
                    `SELECT ${BLOCK_FIELDS.join(", ")} FROM succession_blocks WHERE device_id = ? AND chain = ? AND seq > ? ORDER BY seq LIMIT ?`
                )
                .all(id, c.chain, after, COPY_PAGE_BLOCKS) as any[]
            if (page.length === 0) break
            await pool.query(
                `INSERT INTO succession_blocks (device_id, chain, ${BLOCK_FIELDS.join(", ")})
                 SELECT $1, $2, * FROM unnest(${BLOCK_TYPES.map((t, i) => "$" + (i + 3) + "::" + t + "[]").join(", ")})
                 ON CONFLICT (device_id, chain, seq) DO NOTHING`,
                [id, c.chain, ...BLOCK_FIELDS.map(f => page.map(b => b[f]))]
            )
            after = page[page.length - 1].seq
        }
    }
}

/** The device's signing key and the public verifier's state (signed checkpoints), as the source has them. */
async function copySigningKey(db: SqliteStore["db"], pool: pg.Pool, id: string) {
    const k = db.prepare("SELECT * FROM signing_keys WHERE device_id = ?").get(id) as any
    if (!k) return
    await pool.query(
        `INSERT INTO signing_keys (device_id, public_key0, registered_at, key_index, public_key, signed_seq, dropped, broken)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (device_id) DO UPDATE SET public_key0 = excluded.public_key0,
            registered_at = excluded.registered_at, key_index = excluded.key_index, public_key = excluded.public_key,
            signed_seq = excluded.signed_seq, dropped = excluded.dropped, broken = excluded.broken`,
        [id, k.public_key0, k.registered_at, k.key_index, k.public_key, k.signed_seq, k.dropped, k.broken]
    )
}

/** Events keep their ids (so a second run finds them); a repeat counted since is updated. */
async function copyEvents(db: SqliteStore["db"], pool: pg.Pool, id: string) {
    for (const e of db.prepare("SELECT * FROM events WHERE device_id = ? ORDER BY id").all(id) as any[])
        await pool.query(
            `INSERT INTO events (id, device_id, time, last_time, count, kind, seq, message, block, block_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET last_time = excluded.last_time, count = excluded.count`,
            [e.id, e.device_id, e.time, e.last_time, e.count, e.kind, e.seq, e.message, e.block, e.block_hash]
        )
}

/** A digest over rows in order, each field's bytes length-prefixed (so no two rows read alike). */
function digest(rows: Iterable<any>, fields: string[], into = createHash("sha256")) {
    for (const row of rows)
        for (const f of fields) {
            const v = row[f]
            const bytes = v === null || v === undefined ? Buffer.from("\u0000null") : Buffer.isBuffer(v) ? v : Buffer.from(String(v))
            const length = Buffer.alloc(4)
            length.writeUInt32BE(bytes.length)
            into.update(length).update(bytes)
        }
    return into
}

/**
 * The transparency log, verbatim (tlog/): its leaves keep their indices, its tiles and signed
 * checkpoints come along, and the counter rows take the source's sizes. Logged again from the
 * blocks, the leaves would get other indices, and auditors would rightly see another log.
 */
async function copyLog(db: SqliteStore["db"], pool: pg.Pool, pageLeaves: number) {
    for (let after = -1; ;) {
        const page = db
            .prepare("SELECT idx, device_id, chain, seq, block_hash FROM log_leaves WHERE idx > ? ORDER BY idx LIMIT ?")
            .all(after, pageLeaves) as any[]
        if (page.length === 0) break
        await pool.query(
            `INSERT INTO log_leaves (idx, device_id, chain, seq, block_hash)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::bytea[]) ON CONFLICT (idx) DO NOTHING`,
            [page.map(r => r.idx), page.map(r => r.device_id), page.map(r => r.chain), page.map(r => r.seq), page.map(r => r.block_hash)]
        )
        after = page[page.length - 1].idx
    }
    for (const t of db.prepare("SELECT level, idx, nodes FROM log_tiles").iterate() as Iterable<any>)
        await pool.query(
            "INSERT INTO log_tiles (level, idx, nodes) VALUES ($1, $2, $3) ON CONFLICT (level, idx) DO UPDATE SET nodes = excluded.nodes",
            [t.level, t.idx, t.nodes]
        )
    for (const c of db.prepare("SELECT size, root, time, note FROM log_checkpoints").iterate() as Iterable<any>)
        await pool.query("INSERT INTO log_checkpoints (size, root, time, note) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING", [
            c.size,
            c.root,
            c.time,
            c.note,
        ])
    await pool.query("UPDATE log_size SET size = $1 WHERE id = 0", [db.prepare("SELECT size FROM log_size").pluck().get()])
    await pool.query("UPDATE log_integrated SET size = $1 WHERE id = 0", [db.prepare("SELECT size FROM log_integrated").pluck().get()])
}

/** The log's leaves and checkpoints must be the same in both (their tiles follow from the leaves). */
async function verifyLog(db: SqliteStore["db"], pool: pg.Pool): Promise<string[]> {
    const leafFields = ["idx", "device_id", "chain", "seq", "block_hash"]
    const from = createHash("sha256")
    const to = createHash("sha256")
    for (let after = -1; ;) {
        const page = db.prepare("SELECT * FROM log_leaves WHERE idx > ? ORDER BY idx LIMIT ?").all(after, COPY_PAGE_BLOCKS) as any[]
        if (page.length === 0) break
        digest(page, leafFields, from)
        after = page[page.length - 1].idx
    }
    for (let after = -1; ;) {
        const page = (await pool.query("SELECT * FROM log_leaves WHERE idx > $1 ORDER BY idx LIMIT $2", [after, COPY_PAGE_BLOCKS])).rows
        if (page.length === 0) break
        digest(page, leafFields, to)
        after = Number(page[page.length - 1].idx)
    }
    const out: string[] = []
    if (from.digest("hex") !== to.digest("hex")) out.push("the transparency log's leaves differ")
    const cpFields = ["size", "root", "time", "note"]
    const sourceCps = db.prepare("SELECT * FROM log_checkpoints ORDER BY size").all()
    const targetCps = (await pool.query("SELECT * FROM log_checkpoints ORDER BY size")).rows
    if (digest(sourceCps, cpFields).digest("hex") !== digest(targetCps, cpFields).digest("hex"))
        out.push("the transparency log's checkpoints differ")
    return out
}

/** Compares both databases device by device; returns each difference found, in words. */
export async function verifyCopy(source: SqliteStore, target: PgStore): Promise<string[]> {
    const db = source.db
    const pool = target.pool
    const differences: string[] = []
    for (const d of db.prepare("SELECT * FROM devices ORDER BY id").all() as any[]) {
        const t = (await pool.query("SELECT * FROM devices WHERE id = $1", [d.id])).rows[0]
        if (!t) {
            differences.push(`device ${d.id} is missing`)
            continue
        }
        for (const f of ["key0_sealed", ...DEVICE_FIELDS])
            if (digest([d], [f]).digest("hex") !== digest([t], [f]).digest("hex")) differences.push(`device ${d.id}: ${f} differs`)
        const from = createHash("sha256")
        const to = createHash("sha256")
        let sourceCount = 0
        let targetCount = 0
        for (let after = -1; ;) {
            const page = db
                .prepare(`SELECT ${BLOCK_FIELDS.join(", ")} FROM blocks WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?`)
                .all(d.id, after, COPY_PAGE_BLOCKS) as any[]
            if (page.length === 0) break
            digest(page, BLOCK_FIELDS, from)
            sourceCount += page.length
            after = page[page.length - 1].seq
        }
        for (let after = -1; ;) {
            const page = (
                await pool.query(`SELECT ${BLOCK_FIELDS.join(", ")} FROM blocks WHERE device_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
                    d.id,
                    after,
                    COPY_PAGE_BLOCKS,
                ])
            ).rows
            if (page.length === 0) break
            digest(page, BLOCK_FIELDS, to)
            targetCount += page.length
            after = page[page.length - 1].seq
        }
        if (sourceCount !== targetCount)
            differences.push(`device ${d.id}: ${sourceCount} blocks in the source, ${targetCount} in the target`)
        else if (from.digest("hex") !== to.digest("hex")) differences.push(`device ${d.id}: the blocks differ`)
        const eventFields = ["id", "time", "last_time", "count", "kind", "seq", "message", "block"]
        const sourceEvents = db.prepare("SELECT * FROM events WHERE device_id = ? ORDER BY id").all(d.id)
        const targetEvents = (await pool.query("SELECT * FROM events WHERE device_id = $1 ORDER BY id", [d.id])).rows
        if (digest(sourceEvents, eventFields).digest("hex") !== digest(targetEvents, eventFields).digest("hex"))
            differences.push(
                `device ${d.id}: the security events differ (${sourceEvents.length} in the source, ${targetEvents.length} in the target)`
            )
        const gapFields = ["seq", "reason", "first_lost_seq", "from_boot", "from_uptime_ms"]
        const sourceGaps = db.prepare("SELECT * FROM gaps WHERE device_id = ? ORDER BY seq").all(d.id)
        const targetGaps = (await pool.query("SELECT * FROM gaps WHERE device_id = $1 ORDER BY seq", [d.id])).rows
        if (digest(sourceGaps, gapFields).digest("hex") !== digest(targetGaps, gapFields).digest("hex"))
            differences.push(`device ${d.id}: the gap index differs`)
        const chainFields = ["chain", "key0_sealed", "closed_head_seq", "closed_head_hash", "successor_link", "link_matches", "closed_at"]
        const sourceChains = db.prepare("SELECT * FROM succession_chains WHERE device_id = ? ORDER BY chain").all(d.id)
        const targetChains = (await pool.query("SELECT * FROM succession_chains WHERE device_id = $1 ORDER BY chain", [d.id])).rows
        const sourceClosed = db.prepare("SELECT count(*) FROM succession_blocks WHERE device_id = ?").pluck().get(d.id) as number
        const targetClosed = Number(
            (await pool.query("SELECT count(*) AS n FROM succession_blocks WHERE device_id = $1", [d.id])).rows[0].n
        )
        if (
            digest(sourceChains, chainFields).digest("hex") !== digest(targetChains, chainFields).digest("hex") ||
            sourceClosed !== targetClosed
        )
            differences.push(`device ${d.id}: the closed chains (key successions) differ`)
        const signingFields = ["public_key0", "registered_at", "key_index", "public_key", "signed_seq", "dropped", "broken"]
        const sourceSigning = db.prepare("SELECT * FROM signing_keys WHERE device_id = ?").all(d.id)
        const targetSigning = (await pool.query("SELECT * FROM signing_keys WHERE device_id = $1", [d.id])).rows
        if (digest(sourceSigning, signingFields).digest("hex") !== digest(targetSigning, signingFields).digest("hex"))
            differences.push(`device ${d.id}: the signing key differs`)
    }
    differences.push(...(await verifyLog(db, pool)))
    return differences
}
