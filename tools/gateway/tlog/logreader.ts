/**
 * What the log serves (docs/API.md, "Transparency log"): the latest checkpoint, tiles and entry
 * bundles (C2SP tlog-tiles), inclusion and consistency proofs. Everything is bounded by the
 * latest stored checkpoint: nothing unsigned is shown. A proof reads the few stored tiles it
 * needs (about three at a million leaves) and hashes only the right edge; full tiles never
 * change, so the most recently used ones stay in memory (TILE_CACHE_BYTES), and the right edge's
 * hashes are kept for the latest tree size.
 */
import { HttpError } from "../errors"
import { encodeBundle } from "../../lib/tlog/leaf"
import { consistencyProof, EdgeMemo, inclusionProof, leafHash, PerfectHash } from "../../lib/tlog/merkle"
import { perfectFromTiles, storedTileWidth, TILE_WIDTH, TileKey, tileBytes, tilesNeeded, tileWidth } from "../../lib/tlog/tiles"
import { LogStore, StoredCheckpoint, tileMapKey } from "./logstore"

/**
 * Bytes of stored tiles kept in memory, least recently used out first. A full stored tile is
 * 16,320 bytes (its 256 hashes and their inner nodes), so 64 MiB holds every tile of a log of
 * 1,000,000 leaves (3,907 at level 0, 16 above); beyond that, the tiles asked for last (a tile
 * above level 0 serves the proofs of 65,536 leaves or more, so those stay). Reading a tile from
 * the database was most of what a proof cost.
 */
export const TILE_CACHE_BYTES = 64 * 1024 * 1024

export interface InclusionAnswer {
    index: number
    size: number
    /** The log entry (leaf.ts), base64. */
    entry: string
    leafHash: string
    proof: string[]
}

/** A proof as the binary answer carries it. */
export interface ProofHashes {
    /** The leaf index (inclusion) or the old tree size (consistency). */
    a: number
    /** The tree size. */
    b: number
    proof: Buffer[]
}

export class LogReader {
    /** Stored tiles by "level/index", least recently used first. */
    private readonly cache = new Map<string, Buffer>()
    private cachedBytes = 0
    /** The right edge's hashes of the tree proofs were last made against (merkle.ts, EdgeMemo). */
    private edge: { size: number; memo: EdgeMemo } = { size: -1, memo: new Map() }

    constructor(
        private readonly store: LogStore,
        private readonly cacheBytes = TILE_CACHE_BYTES
    ) {}

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
                this.remember(key, t)
            }
        }
        return out
    }

    private remember(key: string, tile: Buffer) {
        const old = this.cache.get(key)
        if (old) {
            this.cache.delete(key)
            this.cachedBytes -= old.length
        }
        this.cache.set(key, tile)
        this.cachedBytes += tile.length
        for (const [k, t] of this.cache) {
            if (this.cachedBytes <= this.cacheBytes) break
            this.cache.delete(k)
            this.cachedBytes -= t.length
        }
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

    /** The inclusion proof of leaf `index` in the tree of `size` leaves (default: the latest checkpoint's). */
    async inclusionProof(index: number, size?: number): Promise<ProofHashes> {
        const n = await this.publishedSize(size, "tree size")
        if (index >= n) throw new HttpError(400, "not-in-tree", "leaf " + index + " is not in the tree of size " + n)
        return { a: index, b: n, proof: await this.overTiles(n, (p, edge) => inclusionProof(p, index, n, edge)) }
    }

    /** The JSON answer: the proof with the entry and its leaf hash. */
    async inclusion(index: number, size?: number): Promise<InclusionAnswer> {
        const { b: n, proof } = await this.inclusionProof(index, size)
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

    /** The consistency proof from the tree of `from` leaves to the tree of `to` (default: the latest checkpoint's). */
    async consistencyProof(from: number, to?: number): Promise<ProofHashes> {
        const n = await this.publishedSize(to, "tree size")
        if (from > n) throw new HttpError(400, "bad-request", "from (" + from + ") is beyond to (" + n + ")")
        return { a: from, b: n, proof: await this.overTiles(n, (p, edge) => consistencyProof(p, from, n, edge)) }
    }

    async consistency(from: number, to?: number): Promise<{ from: number; to: number; proof: string[] }> {
        const { a, b, proof } = await this.consistencyProof(from, to)
        return { from: a, to: b, proof: proof.map(b64) }
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
