/**
 * The gap index: one row per stored gap record with what its block's summary columns do not
 * hold (the reason, the first dropped seq, when the loss started), filled at ingest. The
 * dashboard's gap views read it instead of decoding a device's whole chain: on 100k blocks that
 * re-decode took 0.5-0.7 s each time the head of a device with gap records moved.
 *
 * It also gives the verifier, rebuilt after a restart, the widest range of dropped blocks already
 * declared (DECLARED_TO_SQL).
 *
 * Its rows belong to their block (ON DELETE CASCADE): a key succession that moves a chain's
 * blocks away takes their gap rows with them. Databases from before the index are backfilled
 * by the migration, which decodes the stored gap records once.
 */
import type Database from "better-sqlite3"
import { decodeBlock, DecodedBlock } from "../../src/lib/ledger/chain"
import { RECORD_GAP } from "../../src/lib/codec/format"

/** What the index keeps of a gap record (the rest is in the blocks table). */
export interface GapIndexEntry {
    reason: number
    firstLostSeq: number
    /** Start of the loss (a gap body's time has no unix time). */
    from: { boot: number; uptimeMs: number }
}

export function gapIndexEntry(block: DecodedBlock): GapIndexEntry | undefined {
    if (block.header.type !== RECORD_GAP || !block.gap) return undefined
    const g = block.gap
    return { reason: g.reason, firstLostSeq: g.firstLostSeq, from: { boot: g.from.boot, uptimeMs: g.from.uptimeMs } }
}

export const INSERT_GAP_SQL = `INSERT INTO gaps (device_id, seq, reason, first_lost_seq, from_boot, from_uptime_ms) VALUES (?, ?, ?, ?, ?, ?)`

/**
 * The last seq of the widest range of dropped blocks the device's stored gap records declare
 * (NULL: none): the verifier's `declaredTo`, so that after a restart the gateway still refuses a
 * record that declares a range again (docs/FORMAT.md, "Gap body": each range by exactly one
 * record). Ranges only widen along a chain, so the widest is the one ending last.
 */
export const DECLARED_TO_SQL = `SELECT max(g.first_lost_seq + b.lost_blocks - 1) FROM gaps g
    JOIN blocks b ON b.device_id = g.device_id AND b.seq = g.seq WHERE g.device_id = ? AND b.lost_blocks > 0`

/** Schema migration: creates the index and fills it from the gap records already stored. */
export function createGapIndex(db: Database.Database) {
    db.exec(`CREATE TABLE gaps (
        device_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        reason INTEGER NOT NULL,
        first_lost_seq INTEGER NOT NULL,
        from_boot INTEGER NOT NULL,
        from_uptime_ms INTEGER NOT NULL,
        PRIMARY KEY (device_id, seq),
        FOREIGN KEY (device_id, seq) REFERENCES blocks (device_id, seq) ON DELETE CASCADE
    ) WITHOUT ROWID`)
    // Gap records are rare: collected first (the connection cannot write while it iterates).
    const stored = db.prepare(`SELECT device_id, seq, bytes FROM blocks WHERE type = ?`).all(RECORD_GAP) as {
        device_id: string
        seq: number
        bytes: Buffer
    }[]
    const insert = db.prepare(INSERT_GAP_SQL)
    for (const row of stored) {
        const entry = gapIndexEntry(decodeBlock(row.bytes))
        if (entry) insert.run(row.device_id, row.seq, entry.reason, entry.firstLostSeq, entry.from.boot, entry.from.uptimeMs)
    }
}
