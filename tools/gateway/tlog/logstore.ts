/**
 * Where the transparency log lives (docs/API.md, "Transparency log"; the design in docs/SECURITY.md
 * and below). Asynchronous, so a PostgreSQL implementation fits beside the SQLite one.
 *
 * Several writers: leaf indices are assigned inside the ingest transaction that stores the
 * blocks, from one counter row (`UPDATE log_size SET size = size + n RETURNING size`) taken as
 * the transaction's last statement, so the row lock is held for the least time and indices
 * commit in order, without holes (a rolled-back transaction rolls its increment back too). Tree
 * tiles and signed checkpoints are computed afterwards by an integrator (integrator.ts) from
 * the committed rows only: nothing is signed that a crash could take back. The integrated size
 * is a row of its own, so the integrator never waits on, or holds, the ingest's counter row. A checkpoint is
 * stored (durably) before it is served, and a size that has a stored checkpoint is never
 * signed again: the log cannot publish two roots for one size, also after a power cut.
 */
import type { LeafEntry } from "../../lib/tlog/leaf"
import type { TileKey, TileWrite } from "../../lib/tlog/tiles"

export interface StoredCheckpoint {
    size: number
    root: Buffer
    /** Unix seconds of its timestamped signature. */
    time: number
    /** The signed note, as served. */
    note: string
}

export interface LogStore {
    /** Leaves assigned (committed rows): the counter row. */
    sequencedSize(): Promise<number>
    /** The log entries (leaf.ts) at indices [from, to), in order; fewer when the rows end. */
    readEntries(from: number, to: number): Promise<Buffer[]>
    /** Stored tiles (tiles.ts, with their inner nodes) by key "level/index"; absent ones are missing from the map. */
    readTiles(keys: readonly TileKey[]): Promise<Map<string, Buffer>>
    /** The size the stored tiles cover. */
    integratedSize(): Promise<number>
    /**
     * Writes tiles and moves the integrated size from `from` to `to`, in one transaction, only
     * if it still is `from` (false: another integrator got there first; nothing written).
     */
    putTiles(from: number, to: number, tiles: readonly TileWrite[]): Promise<boolean>
    latestCheckpoint(): Promise<StoredCheckpoint | undefined>
    checkpointAt(size: number): Promise<StoredCheckpoint | undefined>
    /**
     * Stores a signed checkpoint durably unless one of its size is stored, and returns the one
     * stored for that size (first writer wins: the caller serves what this returns).
     */
    putCheckpoint(c: StoredCheckpoint): Promise<StoredCheckpoint>
    /** The device's current chain number: the key successions before it (0 for a first chain). */
    currentChain(deviceId: string): Promise<number>
    /** The leaf index of a block of the device's chain (chain: key successions before it). */
    leafIndex(deviceId: string, chain: number, seq: number): Promise<number | undefined>
    /** The highest seq of the device's chain that has a leaf below `size`, or -1. */
    loggedUpTo(deviceId: string, chain: number, size: number): Promise<number>
    /** Appends leaves in a transaction of their own; returns the first index (bench and tests: ingest appends in its batch). */
    appendLeaves(entries: readonly LeafEntry[]): Promise<number>
}

export function tileMapKey(k: TileKey): string {
    return k.level + "/" + k.index
}
