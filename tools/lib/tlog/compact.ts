/**
 * A compact range: the roots of the complete subtrees that make up a tree of `size` leaves
 * (one per bit of size, largest first). Appending leaves to it and folding it gives the root of
 * the grown tree, so an auditor that keeps it checks every new leaf against a signed root
 * without the old leaves (RFC 9162's MTH: the fold from the right is its recursion).
 */
import { emptyRoot, HASH_BYTES, nodeHash } from "./merkle"

export class CompactRange {
    private readonly levels: number[] = []
    private readonly hashes: Buffer[] = []
    private n = 0

    get size(): number {
        return this.n
    }

    append(leafHash: Buffer): void {
        let level = 0
        let h = leafHash
        while (this.levels.length > 0 && this.levels[this.levels.length - 1] === level) {
            this.levels.pop()
            h = nodeHash(this.hashes.pop(), h)
            level++
        }
        this.levels.push(level)
        this.hashes.push(h)
        this.n++
    }

    root(): Buffer {
        if (this.hashes.length === 0) return emptyRoot()
        let r = this.hashes[this.hashes.length - 1]
        for (let i = this.hashes.length - 2; i >= 0; i--) r = nodeHash(this.hashes[i], r)
        return r
    }

    /** The subtree roots, base64 (what a state file keeps). */
    save(): { size: number; hashes: string[] } {
        return { size: this.n, hashes: this.hashes.map(h => h.toString("base64")) }
    }

    /** Throws RangeError when the saved form does not fit its size. */
    static load(saved: { size: number; hashes: string[] }): CompactRange {
        const c = new CompactRange()
        if (!saved || !Number.isSafeInteger(saved.size) || saved.size < 0 || !Array.isArray(saved.hashes))
            throw new RangeError("a compact range is {size, hashes}")
        let bits = 0
        for (let s = saved.size; s > 0; s = Math.floor(s / 2)) if (s % 2 === 1) bits++
        if (saved.hashes.length !== bits) throw new RangeError("a compact range of size " + saved.size + " has " + bits + " hashes")
        let k = 0
        for (let bit = 52; bit >= 0; bit--) {
            if (Math.floor(saved.size / 2 ** bit) % 2 === 1) {
                const h = Buffer.from(saved.hashes[k++], "base64")
                if (h.length !== HASH_BYTES) throw new RangeError("a compact range hash is 32 bytes")
                c.levels.push(bit)
                c.hashes.push(h)
            }
        }
        c.n = saved.size
        return c
    }
}
