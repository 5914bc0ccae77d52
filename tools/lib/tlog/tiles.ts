/**
 * The C2SP tlog-tiles layout (https://c2sp.org/tlog-tiles) of an RFC 9162 tree: tiles of height
 * 8. The tile at level L, index N lists up to 256 consecutive hashes of complete subtrees of
 * 256^L leaves; level 0 lists leaf hashes. A partial tile (width W < 256) is the right edge.
 *
 * The log stores each tile with its inner nodes ("stored tile"): sublevel 0 (the tile's W
 * hashes, what the tile route serves), then sublevel s = 1..7 with floor(W / 2^s) hashes each,
 * the hashes of complete pairs below. So the hash of any complete subtree is one lookup in one
 * stored tile, and a proof at a million leaves reads about three tiles and hashes nothing but
 * the right edge.
 */
import { DRY_HASH, HASH_BYTES, nodeHash, PerfectHash } from "./merkle"

export const TILE_HEIGHT = 8
export const TILE_WIDTH = 256
const LEVELS_PER_TILE = TILE_HEIGHT
/** Largest level the tlog-tiles paths allow. */
export const MAX_TILE_LEVEL = 63

export interface TileKey {
    level: number
    index: number
}

export function tileKeyString(k: TileKey): string {
    return k.level + "/" + k.index
}

/** The width of tile (level, index) in a tree of `size` leaves: 256 when full, 0 when it does not exist yet. */
export function tileWidth(size: number, level: number, index: number): number {
    const entries = Math.floor(size / TILE_WIDTH ** level)
    return Math.max(0, Math.min(TILE_WIDTH, entries - index * TILE_WIDTH))
}

/** Offset in hashes of sublevel s within a stored tile of width w. */
function sublevelOffset(width: number, s: number): number {
    let off = 0
    for (let j = 0; j < s; j++) off += Math.floor(width / 2 ** j)
    return off
}

/** The stored form of a tile whose sublevel 0 is `entries` (1..256 hashes). */
export function buildStoredTile(entries: Buffer[]): Buffer {
    const width = entries.length
    if (width < 1 || width > TILE_WIDTH) throw new RangeError("a tile holds 1..256 hashes, not " + width)
    const parts: Buffer[] = [...entries]
    let below = entries
    for (let s = 1; s < LEVELS_PER_TILE; s++) {
        const row: Buffer[] = []
        for (let i = 0; i + 1 < below.length; i += 2) row.push(nodeHash(below[i], below[i + 1]))
        parts.push(...row)
        below = row
    }
    return Buffer.concat(parts)
}

/** A stored tile's length in bytes -> its width (every width has its own length: sublevel 0 alone grows by one hash). */
const WIDTH_OF_LENGTH = new Map<number, number>()
/** Hash offsets of each sublevel, per width. */
const OFFSETS: number[][] = [[]]
for (let w = 1; w <= TILE_WIDTH; w++) {
    const offsets: number[] = []
    for (let s = 0; s <= LEVELS_PER_TILE; s++) offsets.push(sublevelOffset(w, s))
    OFFSETS.push(offsets)
    WIDTH_OF_LENGTH.set(offsets[LEVELS_PER_TILE] * HASH_BYTES, w)
}

/** The width (sublevel 0 count) of a stored tile, from its length. */
export function storedTileWidth(stored: Buffer): number {
    const w = WIDTH_OF_LENGTH.get(stored.length)
    if (w === undefined) throw new RangeError("a stored tile of " + stored.length + " bytes")
    return w
}

/** The tile's C2SP form of width `width` (its first `width` hashes). */
export function tileBytes(stored: Buffer, width: number): Buffer {
    return stored.subarray(0, width * HASH_BYTES)
}

/** Sublevel-0 hashes of a stored tile. */
export function tileEntries(stored: Buffer, width = storedTileWidth(stored)): Buffer[] {
    const out: Buffer[] = []
    for (let i = 0; i < width; i++) out.push(stored.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES))
    return out
}

/** The root of a full stored tile (the entry it contributes to the level above). */
export function fullTileRoot(stored: Buffer): Buffer {
    const off = OFFSETS[TILE_WIDTH][LEVELS_PER_TILE - 1] * HASH_BYTES
    return nodeHash(stored.subarray(off, off + HASH_BYTES), stored.subarray(off + HASH_BYTES, off + 2 * HASH_BYTES))
}

/** Which stored tile holds the complete subtree (level, index), and where in it. */
export function locateSubtree(level: number, index: number): { tile: TileKey; sublevel: number; position: number } {
    const t = Math.floor(level / LEVELS_PER_TILE)
    const s = level % LEVELS_PER_TILE
    const perTile = TILE_WIDTH / 2 ** s
    const tileIndex = Math.floor(index / perTile)
    return { tile: { level: t, index: tileIndex }, sublevel: s, position: index - tileIndex * perTile }
}

/** A PerfectHash over stored tiles; `tile` returns a stored tile or undefined when absent. */
export function perfectFromTiles(tile: (k: TileKey) => Buffer | undefined): PerfectHash {
    return (level, index) => {
        const at = locateSubtree(level, index)
        const stored = tile(at.tile)
        if (!stored) throw new RangeError("tile " + tileKeyString(at.tile) + " is not stored")
        const width = storedTileWidth(stored)
        if (at.position >= Math.floor(width / 2 ** at.sublevel))
            throw new RangeError("subtree " + level + "/" + index + " is beyond tile " + tileKeyString(at.tile) + " of width " + width)
        const off = (OFFSETS[width][at.sublevel] + at.position) * HASH_BYTES
        return stored.subarray(off, off + HASH_BYTES)
    }
}

/**
 * The tiles a computation over complete subtrees reads, found by running it against zero hashes
 * (the shape of a proof does not depend on the hashes): fetch them, then run it for real.
 */
export function tilesNeeded(run: (perfect: PerfectHash) => unknown): TileKey[] {
    const seen = new Map<string, TileKey>()
    run((level, index) => {
        const k = locateSubtree(level, index).tile
        seen.set(tileKeyString(k), k)
        return DRY_HASH
    })
    return [...seen.values()]
}

/** The partial tiles of a tree of `size` leaves (the only stored tiles an append changes), at most one per level. */
export function partialTiles(size: number): TileKey[] {
    const out: TileKey[] = []
    for (let level = 0; Math.floor(size / TILE_WIDTH ** level) > 0; level++) {
        const entries = Math.floor(size / TILE_WIDTH ** level)
        if (entries % TILE_WIDTH !== 0) out.push({ level, index: Math.floor(entries / TILE_WIDTH) })
    }
    return out
}

export interface TileWrite extends TileKey {
    width: number
    stored: Buffer
}

/**
 * The tiles that change when leaves [oldSize, oldSize + newLeaves.length) join a tree of
 * `oldSize` leaves. `partial` gives the stored right-edge partial tile at a level of the old tree
 * (undefined when that level's edge tile is full or absent). Pure: the caller reads the partial
 * tiles first (partialTiles(oldSize)) and writes the result in one transaction.
 */
export function integrateTiles(oldSize: number, newLeaves: Buffer[], partial: (level: number) => Buffer | undefined): TileWrite[] {
    const newSize = oldSize + newLeaves.length
    const writes: TileWrite[] = []
    let added = newLeaves
    for (let level = 0; added.length > 0; level++) {
        const before = Math.floor(oldSize / TILE_WIDTH ** level)
        const after = before + added.length
        const next: Buffer[] = []
        const firstTile = Math.floor(before / TILE_WIDTH)
        const lastTile = Math.floor((after - 1) / TILE_WIDTH)
        for (let n = firstTile; n <= lastTile; n++) {
            const start = n * TILE_WIDTH
            const oldWidth = Math.max(0, Math.min(TILE_WIDTH, before - start))
            const old = oldWidth > 0 ? partial(level) : undefined
            if (oldWidth > 0 && (!old || storedTileWidth(old) < oldWidth))
                throw new RangeError("the partial tile " + level + "/" + n + " of width " + oldWidth + " is not stored")
            const entries = old ? tileEntries(old, oldWidth) : []
            const from = Math.max(start, before)
            const to = Math.min(start + TILE_WIDTH, after)
            for (let i = from; i < to; i++) entries.push(added[i - before])
            const stored = buildStoredTile(entries)
            writes.push({ level, index: n, width: entries.length, stored })
            if (entries.length === TILE_WIDTH) next.push(fullTileRoot(stored))
        }
        added = next
    }
    if (newSize < oldSize) throw new RangeError("a log never shrinks")
    return writes
}

/** The tlog-tiles path element of a tile index: 1234067 -> "x001/x234/067". */
export function formatTileIndex(index: number): string {
    if (!(Number.isSafeInteger(index) && index >= 0)) throw new RangeError("tile index " + index)
    let s = String(index % 1000).padStart(3, "0")
    let rest = Math.floor(index / 1000)
    while (rest > 0) {
        s = "x" + String(rest % 1000).padStart(3, "0") + "/" + s
        rest = Math.floor(rest / 1000)
    }
    return s
}

/** "tile/L/N[.p/W]" or "tile/entries/N[.p/W]" for a tile of width `width`. */
export function tilePath(level: number | "entries", index: number, width = TILE_WIDTH): string {
    return "tile/" + level + "/" + formatTileIndex(index) + (width < TILE_WIDTH ? ".p/" + width : "")
}

export interface ParsedTilePath {
    level: number | "entries"
    index: number
    /** 256 for a full tile. */
    width: number
}

/**
 * Parses the part of a tile URL after "tile/" strictly (undefined for anything the spec does not
 * allow: leading zeros, a missing x, a width of 0 or 256, a level over 63, an index past 2^53).
 */
export function parseTilePath(path: string): ParsedTilePath | undefined {
    const m = /^(0|[1-9][0-9]?|entries)\/((?:x[0-9]{3}\/){0,5}[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(path)
    if (!m) return undefined
    const level = m[1] === "entries" ? "entries" : Number(m[1])
    if (level !== "entries" && level > MAX_TILE_LEVEL) return undefined
    let index = 0
    for (const part of m[2].split("/")) index = index * 1000 + Number(part.replace("x", ""))
    if (!Number.isSafeInteger(index)) return undefined
    const width = m[3] === undefined ? TILE_WIDTH : Number(m[3])
    if (m[3] !== undefined && width >= TILE_WIDTH) return undefined
    return { level, index, width }
}
