import { mod } from "../codec/bytes"

/**
 * A seeded random walk for simulated sensors: deterministic, so a simulator run can be
 * reproduced, and smooth like a real environment (the codec's best and typical case).
 */
export class RandomWalk {
    private state: number

    /** `step` is the largest change per call; the walk stays within [min, max]. */
    constructor(
        seed: number,
        private value: number,
        private readonly step: number,
        private readonly min: number,
        private readonly max: number
    ) {
        this.state = mod(seed, 2147483646) + 1
    }

    /** Park-Miller minimal standard generator: exact in doubles on both runtimes. */
    private uniform(): number {
        this.state = mod(this.state * 48271, 2147483647)
        return this.state / 2147483647
    }

    next(): number {
        this.value += (this.uniform() * 2 - 1) * this.step
        if (this.value < this.min) this.value = this.min
        if (this.value > this.max) this.value = this.max
        return this.value
    }
}
