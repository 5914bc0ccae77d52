/** A seeded pseudo-random generator for runs that must be repeatable (benches, the power-cut test). */

/** mulberry32: a tiny seeded generator in [0, 1), so a run (or a failing one) can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
    let a = seed >>> 0
    return () => {
        a = (a + 0x6d2b79f5) >>> 0
        let t = a
        t = Math.imul(t ^ (t >>> 15), t | 1)
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
}
