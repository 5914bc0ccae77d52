/**
 * RFC 9162 (Certificate Transparency 2.0, section 2.1) Merkle tree hashing and proofs, over
 * SHA-256 with the RFC's domain separation: a leaf hashes as SHA-256(0x00 || entry), an inner
 * node as SHA-256(0x01 || left || right). Proofs are generated from any source of complete
 * subtree hashes (the log's tiles, tiles.ts) and verified with the RFC's algorithms, which need
 * nothing but the proof, the sizes and the roots.
 */
import * as nodeCrypto from "node:crypto"

export const HASH_BYTES = 32

/**
 * SHA-256 of one buffer. node:crypto's one-shot `hash` (Node >= 20.12) costs about half of a
 * createHash object with its updates for these 48- and 65-byte inputs, and less than
 * @noble/hashes (pure JS): the auditor hashes two of them per leaf, the integrator as many.
 */
const sha256: (data: Uint8Array) => Buffer =
    typeof (nodeCrypto as { hash?: unknown }).hash === "function"
        ? data => nodeCrypto.hash("sha256", data, "buffer")
        : data => nodeCrypto.createHash("sha256").update(data).digest()

/**
 * The prefixed input is assembled in a scratch buffer (hashing copies it at once, and nothing
 * here yields in between), so a hash allocates only its result.
 */
const LEAF_INPUT = Buffer.alloc(1 + 47) // a log entry is 47 bytes (leaf.ts); other lengths are concatenated
const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_BYTES)
NODE_INPUT[0] = 1

export class ProofError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "ProofError"
    }
}

/** SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Buffer {
    if (entry.length + 1 !== LEAF_INPUT.length) return sha256(Buffer.concat([LEAF_INPUT.subarray(0, 1), entry]))
    LEAF_INPUT.set(entry, 1)
    return sha256(LEAF_INPUT)
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
    if (left.length !== HASH_BYTES || right.length !== HASH_BYTES) return sha256(Buffer.concat([NODE_INPUT.subarray(0, 1), left, right]))
    NODE_INPUT.set(left, 1)
    NODE_INPUT.set(right, 1 + HASH_BYTES)
    return sha256(NODE_INPUT)
}

/** The root of the empty tree: SHA-256 of nothing. */
export function emptyRoot(): Buffer {
    return sha256(new Uint8Array(0))
}

/** The largest power of two strictly below n (n >= 2). */
export function splitPoint(n: number): number {
    let k = 1
    while (k * 2 < n) k *= 2
    return k
}

/**
 * Where the hashes of complete subtrees come from: the hash of leaves
 * [index * 2^level, (index + 1) * 2^level), which must lie within the tree's integrated size.
 */
export type PerfectHash = (level: number, index: number) => Buffer

/** log2 of n when n is a power of two, else -1. */
function exactLog2(n: number): number {
    if (n < 1) return -1
    let level = 0
    while (n > 1) {
        if (n % 2 !== 0) return -1
        n /= 2
        level++
    }
    return level
}

/**
 * What a dry run's PerfectHash returns (tiles.ts, tilesNeeded): a range over it is not hashed,
 * so finding the tiles a proof needs costs no hashing.
 */
export const DRY_HASH = Buffer.alloc(HASH_BYTES)

/**
 * MTH(D[lo:hi]) for a range that is either a complete aligned subtree or the right edge of a
 * tree: split at the largest power of two as RFC 9162 defines it, reading complete subtrees
 * from `perfect`. A tree of size n costs at most log2(n) reads and as many hashes.
 */
export function rangeHash(perfect: PerfectHash, lo: number, hi: number, edge?: EdgeMemo): Buffer {
    const n = hi - lo
    if (n <= 0) throw new RangeError("empty range " + lo + ".." + hi)
    const level = exactLog2(n)
    if (level >= 0 && lo % n === 0) return perfect(level, lo / n)
    const key = edge ? lo + "/" + hi : ""
    const known = edge?.get(key)
    if (known) return known
    const k = splitPoint(n)
    const left = rangeHash(perfect, lo, lo + k, edge)
    const right = rangeHash(perfect, lo + k, hi, edge)
    if (left === DRY_HASH || right === DRY_HASH) return DRY_HASH
    const h = nodeHash(left, right)
    edge?.set(key, h)
    return h
}

/**
 * Hashes of incomplete ranges [lo, hi) already computed: the right edge of a tree, the same for
 * every proof against that tree, so a server keeps them per tree size (logreader.ts).
 */
export type EdgeMemo = Map<string, Buffer>

/** The root hash of the tree of `size` leaves. */
export function treeRoot(perfect: PerfectHash, size: number): Buffer {
    return size === 0 ? emptyRoot() : rangeHash(perfect, 0, size)
}

/** RFC 9162 2.1.3.1: the inclusion proof of leaf `index` in the tree of `size` leaves. */
export function inclusionProof(perfect: PerfectHash, index: number, size: number, edge?: EdgeMemo): Buffer[] {
    if (!(index >= 0 && index < size)) throw new ProofError("leaf index " + index + " is not in a tree of size " + size)
    const proof: Buffer[] = []
    let lo = 0
    let hi = size
    // Walks down from the root; the RFC's PATH lists siblings from the leaf up, so unshift.
    while (hi - lo > 1) {
        const k = splitPoint(hi - lo)
        if (index < lo + k) {
            proof.unshift(rangeHash(perfect, lo + k, hi, edge))
            hi = lo + k
        } else {
            proof.unshift(rangeHash(perfect, lo, lo + k, edge))
            lo = lo + k
        }
    }
    return proof
}

/** RFC 9162 2.1.4.1: the consistency proof from the tree of size `m` to the tree of size `n`. */
export function consistencyProof(perfect: PerfectHash, m: number, n: number, edge?: EdgeMemo): Buffer[] {
    if (!(m >= 0 && m <= n)) throw new ProofError("tree size " + m + " is not at most " + n)
    if (m === 0 || m === n) return []
    const proof: Buffer[] = []
    let lo = 0
    let hi = n
    let whole = true
    let mm = m
    // SUBPROOF(m, D[lo:hi], whole), iteratively; each step's sibling goes before what it has so far.
    for (;;) {
        const size = hi - lo
        if (mm === size) {
            if (!whole) proof.unshift(rangeHash(perfect, lo, hi, edge))
            return proof
        }
        const k = splitPoint(size)
        if (mm <= k) {
            proof.unshift(rangeHash(perfect, lo + k, hi, edge))
            hi = lo + k
        } else {
            proof.unshift(rangeHash(perfect, lo, lo + k, edge))
            lo = lo + k
            mm -= k
            whole = false
        }
    }
}

/** RFC 9162 2.1.3.2: the root an inclusion proof leads to (throws ProofError when it cannot be one). */
export function rootFromInclusionProof(index: number, size: number, leaf: Buffer, proof: Buffer[]): Buffer {
    if (!(index >= 0 && index < size)) throw new ProofError("leaf index " + index + " is not in a tree of size " + size)
    let fn = index
    let sn = size - 1
    let r = leaf
    for (const p of proof) {
        if (sn === 0) throw new ProofError("inclusion proof too long")
        if (fn % 2 === 1 || fn === sn) {
            r = nodeHash(p, r)
            if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) ((fn = Math.floor(fn / 2)), (sn = Math.floor(sn / 2)))
        } else r = nodeHash(r, p)
        fn = Math.floor(fn / 2)
        sn = Math.floor(sn / 2)
    }
    if (sn !== 0) throw new ProofError("inclusion proof too short")
    return r
}

/** True when `proof` shows leaf hash `leaf` at `index` in the tree of `size` leaves with root `root`. */
export function verifyInclusion(index: number, size: number, leaf: Buffer, proof: Buffer[], root: Buffer): boolean {
    try {
        return rootFromInclusionProof(index, size, leaf, proof).equals(root)
    } catch (e) {
        if (e instanceof ProofError) return false
        throw e
    }
}

/**
 * RFC 9162 2.1.4.2: checks that the tree of size `m` with root `oldRoot` is a prefix of the tree
 * of size `n` with root `newRoot`. Throws ProofError saying what does not hold.
 */
export function checkConsistency(m: number, n: number, oldRoot: Buffer, newRoot: Buffer, proof: Buffer[]): void {
    if (!(m >= 0 && m <= n)) throw new ProofError("tree size " + m + " is not at most " + n)
    if (m === n) {
        if (proof.length !== 0) throw new ProofError("a consistency proof between equal sizes must be empty")
        if (!oldRoot.equals(newRoot)) throw new ProofError("two different roots for tree size " + m)
        return
    }
    if (m === 0) {
        if (proof.length !== 0) throw new ProofError("a consistency proof from the empty tree must be empty")
        return
    }
    if (proof.length === 0) throw new ProofError("a consistency proof between different sizes cannot be empty")
    let path = proof
    // When m is a power of two, the old root itself starts the path.
    if (exactLog2(m) >= 0) path = [oldRoot, ...proof]
    if (path.length === 0) throw new ProofError("consistency proof too short")
    let fn = m - 1
    let sn = n - 1
    while (fn % 2 === 1) ((fn = Math.floor(fn / 2)), (sn = Math.floor(sn / 2)))
    let fr = path[0]
    let sr = path[0]
    for (let i = 1; i < path.length; i++) {
        const c = path[i]
        if (sn === 0) throw new ProofError("consistency proof too long")
        if (fn % 2 === 1 || fn === sn) {
            fr = nodeHash(c, fr)
            sr = nodeHash(c, sr)
            while (fn % 2 === 0 && fn !== 0) ((fn = Math.floor(fn / 2)), (sn = Math.floor(sn / 2)))
        } else sr = nodeHash(sr, c)
        fn = Math.floor(fn / 2)
        sn = Math.floor(sn / 2)
    }
    if (sn !== 0) throw new ProofError("consistency proof too short")
    if (!fr.equals(oldRoot)) throw new ProofError("the proof does not lead to the old root of size " + m)
    if (!sr.equals(newRoot)) throw new ProofError("the proof does not lead to the new root of size " + n)
}

export function verifyConsistency(m: number, n: number, oldRoot: Buffer, newRoot: Buffer, proof: Buffer[]): boolean {
    try {
        checkConsistency(m, n, oldRoot, newRoot, proof)
        return true
    } catch (e) {
        if (e instanceof ProofError) return false
        throw e
    }
}
