/**
 * The log's Merkle tree (tools/lib/tlog/merkle.ts over the stored tiles of tiles.ts) against an
 * independent reference written here from RFC 9162's definitions: MTH, PATH and SUBPROOF as the
 * RFC's recursive formulas over plain arrays of leaf hashes (small trees), and bottom-up levels
 * of pairwise hashes (the million-leaf tree). Roots and proofs must be byte-identical to the
 * reference, verify, and fail once altered.
 */
import { createHash } from "node:crypto"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
    consistencyProof,
    inclusionProof,
    PerfectHash,
    rangeHash,
    treeRoot,
    verifyConsistency,
    verifyInclusion,
} from "../../../tools/lib/tlog/merkle"
import {
    integrateTiles,
    parseTilePath,
    partialTiles,
    perfectFromTiles,
    tileKeyString,
    tilePath,
    tilesNeeded,
    tileWidth,
} from "../../../tools/lib/tlog/tiles"

// --- the reference: RFC 9162 section 2.1, written out independently ---
const sha = (...parts: Buffer[]) => {
    const h = createHash("sha256")
    for (const p of parts) h.update(p)
    return h.digest()
}
const refLeaf = (i: number) => sha(Buffer.from([0]), Buffer.from("entry " + i))
const refNode = (l: Buffer, r: Buffer) => sha(Buffer.from([1]), l, r)
const largestPow2Below = (n: number) => 2 ** Math.floor(Math.log2(n - 1))

/** MTH(D[lo:hi]) by the RFC's recursion, memoised (the same ranges recur across tree sizes). */
function refMth(leaves: Buffer[], memo: Map<string, Buffer>, lo: number, hi: number): Buffer {
    if (hi - lo === 0) return sha()
    if (hi - lo === 1) return leaves[lo]
    const key = lo + "," + hi
    let h = memo.get(key)
    if (!h) {
        const k = largestPow2Below(hi - lo)
        h = refNode(refMth(leaves, memo, lo, lo + k), refMth(leaves, memo, lo + k, hi))
        memo.set(key, h)
    }
    return h
}

/** PATH(m, D[lo:hi]). */
function refPath(mth: (lo: number, hi: number) => Buffer, m: number, lo: number, hi: number): Buffer[] {
    const n = hi - lo
    if (n === 1) return []
    const k = largestPow2Below(n)
    if (m < k) return [...refPath(mth, m, lo, lo + k), mth(lo + k, hi)]
    return [...refPath(mth, m - k, lo + k, hi), mth(lo, lo + k)]
}

/** SUBPROOF(m, D[lo:hi], b). */
function refSubproof(mth: (lo: number, hi: number) => Buffer, m: number, lo: number, hi: number, b: boolean): Buffer[] {
    const n = hi - lo
    if (m === n) return b ? [] : [mth(lo, hi)]
    const k = largestPow2Below(n)
    if (m <= k) return [...refSubproof(mth, m, lo, lo + k, b), mth(lo + k, hi)]
    return [...refSubproof(mth, m - k, lo + k, hi, false), mth(lo, lo + k)]
}
const refConsistency = (mth: (lo: number, hi: number) => Buffer, m: number, n: number) =>
    m === 0 || m === n ? [] : refSubproof(mth, m, 0, n, true)

// --- the implementation under test: tiles built by integrateTiles, in steps ---
function buildTiles(leaves: Buffer[], steps: number[]): Map<string, Buffer> {
    const tiles = new Map<string, Buffer>()
    let size = 0
    for (const step of steps) {
        const batch = leaves.slice(size, size + step)
        const partial = new Map(partialTiles(size).map(k => [k.level, tiles.get(tileKeyString(k))]))
        for (const w of integrateTiles(size, batch, level => partial.get(level))) tiles.set(tileKeyString(w), w.stored)
        size += batch.length
    }
    return tiles
}
const perfectOf = (tiles: Map<string, Buffer>): PerfectHash => perfectFromTiles(k => tiles.get(tileKeyString(k)))

function flipped(proof: Buffer[], i: number): Buffer[] {
    const copy = proof.map(p => Buffer.from(p))
    copy[i][i % 32] ^= 1
    return copy
}

describe("Merkle tree over tiles, against the RFC 9162 reference", () => {
    const N = 3000
    const leaves = Array.from({ length: N }, (_, i) => refLeaf(i))
    const memo = new Map<string, Buffer>()
    const mth = (lo: number, hi: number) => refMth(leaves, memo, lo, hi)
    // Integrated in uneven steps, so partial tiles are extended many times over.
    const steps: number[] = []
    for (let left = N, i = 0; left > 0; i++) {
        const s = Math.min(left, [1, 2, 3, 255, 1, 256, 257, 7, 600][i % 9])
        steps.push(s)
        left -= s
    }
    const perfect = perfectOf(buildTiles(leaves, steps))

    it("the tiles built step by step equal the tiles built at once, and have the C2SP widths", () => {
        const once = buildTiles(leaves, [N])
        const stepwise = buildTiles(leaves, steps)
        expect([...stepwise.keys()].sort()).toEqual([...once.keys()].sort())
        for (const [k, v] of once) expect(stepwise.get(k).equals(v), k).toBe(true)
        // tlog-tiles' example: 70,000 leaves have 273 full level-0 tiles, one of width 112, ...
        expect([tileWidth(70000, 0, 273), tileWidth(70000, 0, 272), tileWidth(70000, 1, 1), tileWidth(70000, 2, 0)]).toEqual([
            112, 256, 17, 1,
        ])
        expect(tileWidth(256, 1, 0)).toBe(1)
    })

    it("every tree size up to 3,000: the root, an inclusion proof and a consistency proof equal the reference and verify", () => {
        let m = 1
        for (let n = 1; n <= N; n++) {
            const root = mth(0, n)
            expect(treeRoot(perfect, n).equals(root), "root at " + n).toBe(true)
            // Leaves spread over the tree: first, last, and one that moves with n.
            for (const i of [0, n - 1, (n * 7919) % n]) {
                const proof = inclusionProof(perfect, i, n)
                expect(Buffer.concat(proof).equals(Buffer.concat(refPath(mth, i, 0, n))), "path " + i + " in " + n).toBe(true)
                expect(verifyInclusion(i, n, leaves[i], proof, root), "inclusion " + i + " in " + n).toBe(true)
            }
            m = (m * 31 + 7) % n || n
            for (const from of [m, n - 1 || 1, n]) {
                const proof = consistencyProof(perfect, from, n)
                expect(Buffer.concat(proof).equals(Buffer.concat(refConsistency(mth, from, n))), "consistency " + from + " to " + n).toBe(
                    true
                )
                expect(verifyConsistency(from, n, mth(0, from), root, proof), "consistency " + from + " to " + n).toBe(true)
            }
        }
    })

    it("every pair up to 64 leaves, and every proof altered in any hash, or checked against another leaf or size, fails", () => {
        for (let n = 1; n <= 64; n++) {
            const root = mth(0, n)
            for (let i = 0; i < n; i++) {
                const proof = inclusionProof(perfect, i, n)
                expect(verifyInclusion(i, n, leaves[i], proof, root)).toBe(true)
                for (let j = 0; j < proof.length; j++) expect(verifyInclusion(i, n, leaves[i], flipped(proof, j), root)).toBe(false)
                if (n > 1) expect(verifyInclusion((i + 1) % n, n, leaves[i], proof, root)).toBe(false)
                expect(verifyInclusion(i, n + 1, leaves[i], proof, mth(0, n + 1))).toBe(false)
                expect(verifyInclusion(i, n, leaves[i], [...proof, root], root)).toBe(false)
            }
            for (let m = 1; m <= n; m++) {
                const proof = consistencyProof(perfect, m, n)
                expect(verifyConsistency(m, n, mth(0, m), root, proof), m + " to " + n).toBe(true)
                for (let j = 0; j < proof.length; j++) expect(verifyConsistency(m, n, mth(0, m), root, flipped(proof, j))).toBe(false)
                if (m < n) {
                    expect(verifyConsistency(m, n, mth(0, m - 1 || 1).equals(mth(0, m)) ? sha() : mth(0, m - 1 || 1), root, proof)).toBe(
                        false
                    )
                    expect(verifyConsistency(m, n, mth(0, m), mth(0, n - 1), proof)).toBe(false)
                    expect(verifyConsistency(m, n, mth(0, m), root, [])).toBe(false)
                }
            }
        }
    })

    it("a proof reads at most three tiles per level touched, found before any hash is read", () => {
        const keys = tilesNeeded(p => inclusionProof(p, 1234, 2999))
        expect(keys.length).toBeGreaterThan(0)
        expect(keys.length).toBeLessThanOrEqual(6)
        const proof = inclusionProof(perfect, 1234, 2999)
        expect(verifyInclusion(1234, 2999, leaves[1234], proof, mth(0, 2999))).toBe(true)
    })
})

describe("random pairs in a tree of a million leaves", () => {
    it("inclusion and consistency proofs verify against roots computed from bottom-up levels", () => {
        const N = 2 ** 20 + 4321
        const leaves: Buffer[] = new Array(N)
        for (let i = 0; i < N; i++) leaves[i] = refLeaf(i)
        // The reference: levels[h][i] = MTH of the i-th complete subtree of 2^h leaves.
        const levels: Buffer[][] = [leaves]
        while (levels[levels.length - 1].length > 1) {
            const below = levels[levels.length - 1]
            const row: Buffer[] = []
            for (let i = 0; i + 1 < below.length; i += 2) row.push(refNode(below[i], below[i + 1]))
            levels.push(row)
        }
        const refPerfect: PerfectHash = (h, i) => levels[h][i]
        const refRoot = (n: number) => rangeHash(refPerfect, 0, n)
        const tiles = buildTiles(leaves, [65536 * 7 + 3, 65536 * 9, 1, N - 65536 * 16 - 4])
        const perfect = perfectOf(tiles)
        expect(treeRoot(perfect, N).equals(refRoot(N))).toBe(true)
        fc.assert(
            fc.property(fc.integer({ min: 1, max: N }), fc.integer({ min: 0, max: N }), (n, x) => {
                const i = x % n
                const m = (x % n) + 1
                const proof = inclusionProof(perfect, i, n)
                const path = refPath((lo, hi) => rangeHash(refPerfect, lo, hi), i, 0, n)
                const consistency = consistencyProof(perfect, m, n)
                return (
                    Buffer.concat(proof).equals(Buffer.concat(path)) &&
                    verifyInclusion(i, n, leaves[i], proof, refRoot(n)) &&
                    (proof.length === 0 || !verifyInclusion(i, n, leaves[i], flipped(proof, 0), refRoot(n))) &&
                    verifyConsistency(m, n, refRoot(m), refRoot(n), consistency) &&
                    (consistency.length === 0 ||
                        !verifyConsistency(m, n, refRoot(m), refRoot(n), flipped(consistency, consistency.length - 1)))
                )
            }),
            { numRuns: 200, seed: 16 }
        )
        // A million leaves: 20 hashes of 32 bytes.
        expect(inclusionProof(perfect, 777777, 2 ** 20).length).toBe(20)
    })
})

describe("tile paths", () => {
    it("formats and parses the tlog-tiles paths, and refuses every other form", () => {
        expect(tilePath(0, 1234067)).toBe("tile/0/x001/x234/067")
        expect(tilePath(2, 5, 17)).toBe("tile/2/005.p/17")
        expect(tilePath("entries", 0, 1)).toBe("tile/entries/000.p/1")
        expect(parseTilePath("0/x001/x234/067")).toEqual({ level: 0, index: 1234067, width: 256 })
        expect(parseTilePath("entries/012.p/255")).toEqual({ level: "entries", index: 12, width: 255 })
        for (const bad of [
            "0/1234067",
            "00/000",
            "0/x001",
            "0/001/002",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/07",
            "64/000",
            "a/000",
            "0/000/",
            "0/x1/000",
        ])
            expect(parseTilePath(bad), bad).toBeUndefined()
        fc.assert(
            fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 1, max: 256 }), (index, width) => {
                const p = parseTilePath(tilePath(3, index, width).slice("tile/".length))
                return p !== undefined && p.index === index && p.width === width && p.level === 3
            })
        )
    })
})
