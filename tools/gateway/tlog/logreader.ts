/**
 * What the log serves (docs/API.md, "Transparency log"): the latest checkpoint, tiles and entry
 * bundles (C2SP tlog-tiles), inclusion and consistency proofs. Everything is bounded by the
 * latest stored checkpoint: nothing unsigned is shown. A proof reads the few stored tiles it
 * needs (about three at a million leaves) and hashes only the right edge; full tiles never
 * change, so the most recently used ones stay in memory.
 */
import { HttpError } from "../errors"
import { encodeBundle } from "../../lib/tlog/leaf"
import { consistencyProof, EdgeMemo, inclusionProof, leafHash, PerfectHash } from "../../lib/tlog/merkle"
import { perfectFromTiles, storedTileWidth, TILE_WIDTH, TileKey, tileBytes, tilesNeeded, tileWidth } from "../../lib/tlog/tiles"
import { LogStore, StoredCheckpoint, tileMapKey } from "./logstore"

/** Stored tiles kept in memory (at most 16 KB each: 32 MB; the tiles of 512K leaves, and every tile above level 0 up to 128M). */
const TILE_CACHE = 2048

export interface InclusionAnswer {
    index: number
    size: number
    /** The log entry (leaf.ts), base64. */
    entry: string
    leafHash: string
    proof: string[]
}

export class LogReader {
    private readonly cache = new Map<string, Buffer>()
    /** The right edge's hashes of the tree proofs were last made against (merkle.ts, EdgeMemo). */
    private edge: { size: number; memo: EdgeMemo } = { size: -1, memo: new Map() }

    constructor(private readonly store: LogStore) {}

    async checkpoint(): Promise<StoredCheckpoint> {
        const c = await this.store.latestCheckpoint()
        if (!c) throw new HttpError(503, "no-checkpoint", "the log has not signed a checkpoint yet")
        return c
    }

    async checkpointAt(size: number): Promise<StoredCheckpoint> {
        const c = await this.store.checkpointAt(size)
        if (!c) throw new HttpError(404, "no-checkpoint", "the log signed no checkpoint of size " + size)
        return c
    }

    /**
     * The stored tiles a computation over the tree of `size` leaves reads. A tile's first
     * entries never change once written (a partial tile only grows), so a cached tile serves
     * any tree it is wide enough for; a narrower one is read again.
     */
    private async tiles(keys: readonly TileKey[], size: number): Promise<Map<string, Buffer>> {
        const out = new Map<string, Buffer>()
        const missing: TileKey[] = []
        for (const k of keys) {
            const key = tileMapKey(k)
            const hit = this.cache.get(key)
            if (hit && storedTileWidth(hit) >= tileWidth(size, k.level, k.index)) {
                // Most recently used last.
                this.cache.delete(key)
                this.cache.set(key, hit)
                out.set(key, hit)
            } else missing.push(k)
        }
        if (missing.length > 0) {
            for (const [key, t] of await this.store.readTiles(missing)) {
                out.set(key, t)
                this.cache.delete(key)
                this.cache.set(key, t)
                if (this.cache.size > TILE_CACHE) this.cache.delete(this.cache.keys().next().value)
            }
        }
        return out
    }

    /** Runs a computation over complete subtrees after reading the tiles it needs. */
    private async overTiles<T>(size: number, run: (perfect: PerfectHash, edge: EdgeMemo) => T): Promise<T> {
        if (this.edge.size !== size || this.edge.memo.size > 4096) this.edge = { size, memo: new Map() }
        const edge = this.edge.memo
        // The dry run skips what the memo knows: those tiles are not read at all.
        const tiles = await this.tiles(
            tilesNeeded(p => run(p, edge)),
            size
        )
        return run(
            perfectFromTiles(k => tiles.get(tileMapKey(k))),
            edge
        )
    }

    /** A size the latest checkpoint covers (default: its size). */
    private async publishedSize(size: number | undefined, what: string): Promise<number> {
        const latest = await this.checkpoint()
        if (size === undefined) return latest.size
        if (size > latest.size)
            throw new HttpError(400, "beyond-checkpoint", what + " " + size + " is beyond the latest checkpoint (" + latest.size + ")")
        return size
    }

    /** `withEntry` false: the proof alone (the binary answer carries no entry). */
    async inclusion(index: number, size?: number, withEntry = true): Promise<InclusionAnswer> {
        const n = await this.publishedSize(size, "tree size")
        if (index >= n) throw new HttpError(400, "not-in-tree", "leaf " + index + " is not in the tree of size " + n)
        const proof = await this.overTiles(n, (p, edge) => inclusionProof(p, index, n, edge))
        if (!withEntry) return { index, size: n, entry: "", leafHash: "", proof: proof.map(b64) }
        const [entry] = await this.store.readEntries(index, index + 1)
        return { index, size: n, entry: entry.toString("base64"), leafHash: leafHash(entry).toString("base64"), proof: proof.map(b64) }
    }

    async currentChain(deviceId: string): Promise<number> {
        return this.store.currentChain(deviceId)
    }

    /** The leaf of a device's block (its current chain unless `chain` is given). */
    async leafOf(deviceId: string, chain: number, seq: number): Promise<number> {
        const index = await this.store.leafIndex(deviceId, chain, seq)
        if (index === undefined)
            throw new HttpError(404, "not-logged", "block " + seq + " of device " + deviceId + " (chain " + chain + ") has no leaf")
        return index
    }

    async consistency(from: number, to?: number): Promise<{ from: number; to: number; proof: string[] }> {
        const n = await this.publishedSize(to, "tree size")
        if (from > n) throw new HttpError(400, "bad-request", "from (" + from + ") is beyond to (" + n + ")")
        const proof = await this.overTiles(n, (p, edge) => consistencyProof(p, from, n, edge))
        return { from, to: n, proof: proof.map(b64) }
    }

    /** tile/L/N[.p/W]: the hashes, if the latest checkpoint's tree has that tile at that width (or wider). */
    async tile(level: number, index: number, width: number): Promise<Buffer> {
        const latest = await this.checkpoint()
        const have = tileWidth(latest.size, level, index)
        if (have < width) throw new HttpError(404, "no-tile", "the latest checkpoint has no such tile")
        const t = (await this.tiles([{ level, index }], latest.size)).get(tileMapKey({ level, index }))
        if (!t || storedTileWidth(t) < width) throw new HttpError(404, "no-tile", "the tile is not stored")
        return tileBytes(t, width)
    }

    /** tile/entries/N[.p/W]: the entry bundle. */
    async entries(index: number, width: number): Promise<Buffer> {
        const latest = await this.checkpoint()
        if (tileWidth(latest.size, 0, index) < width) throw new HttpError(404, "no-tile", "the latest checkpoint has no such entry bundle")
        const entries = await this.store.readEntries(index * TILE_WIDTH, index * TILE_WIDTH + width)
        if (entries.length !== width) throw new HttpError(404, "no-tile", "the entries are not stored")
        return encodeBundle(entries)
    }

    /** What the dashboard shows per device: the highest seq of its chain under the latest checkpoint. */
    async loggedUpTo(deviceId: string, chain: number): Promise<number> {
        const latest = await this.store.latestCheckpoint()
        return latest ? this.store.loggedUpTo(deviceId, chain, latest.size) : -1
    }
}

function b64(b: Buffer): string {
    return b.toString("base64")
}
