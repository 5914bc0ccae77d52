/**
 * The worst-case blocks of test/device/ledgerlimits.test.ts, pure data shared with the Node
 * test that recomputes each case's reading count from docs/FORMAT.md with the independent v2
 * encoder (test/node/lib/ledger/limitcases.test.ts), so that the device test checks the real v2
 * size limit, not a number copied from the code under test.
 *
 * A case is a block of 1, 3 or 8 channels sealed at seq 1 (boot 0, first reading at 1000 ms, one
 * every 10 s), filled one reading at a time until the ledger seals it: on its size (the next
 * reading would not fit 200 bytes) or on the device's cap of values (readings x channels) a
 * block, DEFAULT_MAX_VALUES_PER_BLOCK (192), whichever comes first. Both kinds are here: the
 * cases sealed on the cap are the most values, with the widest deltas that still reach it
 * (width 7 for one channel, 6 for three and eight), the costliest in bytecode ops (v2's coding
 * choice costs per bit of a delta); the cases sealed on their size check the v2 size limit to
 * the reading.
 */

export interface LimitCase {
    channels: number
    /** Bit length of every zigzag delta (0: constant values); with `rice`, of every jump's. */
    width: number
    /** Every 7th value (reading-major) missing: a bitmap in every block. */
    missing: boolean
    /**
     * Values still for 7 present values, then a jump of 2^(width - 2): a channel the writer codes
     * as Rice(k) (width 5: Rice(0), long unary runs per jump; width 11: Rice(6)).
     */
    rice?: boolean
    /** Readings of the largest block the v2 format fits in 200 bytes with these values (255 at most), before any cap. */
    readings: number
}

/** One reading every 10 s: a 255-reading block is 42 minutes, within the default 1-hour age. */
export const LIMIT_INTERVAL_MS = 10000

/** Counts from the v2 format (header 11 or 12 bytes at seq 1 with these times, tag 16), checked on Node. */
export const LIMIT_CASES: LimitCase[] = [
    { channels: 1, width: 0, missing: false, readings: 255 },
    { channels: 1, width: 6, missing: true, readings: 221 },
    { channels: 1, width: 7, missing: false, readings: 194 },
    { channels: 1, width: 8, missing: false, readings: 170 },
    { channels: 1, width: 8, missing: true, readings: 173 },
    { channels: 1, width: 20, missing: false, readings: 69 },
    { channels: 1, width: 5, missing: false, rice: true, readings: 255 },
    { channels: 1, width: 11, missing: false, rice: true, readings: 152 },
    { channels: 3, width: 0, missing: true, readings: 255 },
    { channels: 3, width: 6, missing: false, readings: 73 },
    { channels: 3, width: 8, missing: false, readings: 55 },
    { channels: 3, width: 8, missing: true, readings: 56 },
    { channels: 3, width: 16, missing: false, readings: 28 },
    { channels: 3, width: 5, missing: true, rice: true, readings: 122 },
    { channels: 3, width: 11, missing: false, rice: true, readings: 49 },
    { channels: 8, width: 0, missing: true, readings: 148 },
    { channels: 8, width: 6, missing: true, readings: 25 },
    { channels: 8, width: 8, missing: false, readings: 19 },
    { channels: 8, width: 8, missing: true, readings: 20 },
    { channels: 8, width: 20, missing: true, readings: 9 },
    { channels: 8, width: 5, missing: false, rice: true, readings: 54 },
    { channels: 8, width: 11, missing: true, rice: true, readings: 19 },
]

/** Readings in the block the device seals: the format's count, or fewer under the values cap. */
export function limitExpected(c: LimitCase, maxValuesPerBlock: number): number {
    return Math.min(c.readings, Math.floor(maxValuesPerBlock / c.channels))
}

/** Reading i's time. */
export function limitTime(i: number): { boot: number; uptimeMs: number } {
    return { boot: 0, uptimeMs: 1000 + i * LIMIT_INTERVAL_MS }
}

/**
 * The readings of a case, one call per reading in order. Steps: every present value steps
 * 2^(width - 1) down, so each zigzag delta is 2^width - 1, exactly `width` bits (fixed width is
 * the cheapest coding for equal deltas). Rice: see LimitCase.rice.
 */
export function limitReadings(c: LimitCase): (i: number) => (number | null)[] {
    const present: number[] = []
    for (let ch = 0; ch < c.channels; ch++) present.push(0)
    const step = c.width === 0 ? 0 : 1 << (c.width - 1)
    const jump = c.width < 2 ? 0 : 1 << (c.width - 2)
    return (i: number) => {
        const r: (number | null)[] = []
        for (let ch = 0; ch < c.channels; ch++) {
            if (c.missing && (i * c.channels + ch) % 7 === 3) r.push(null)
            else {
                const p = present[ch]
                r.push(c.rice ? 1000 * (ch + 1) + jump * Math.floor(p / 8) : 1000 * (ch + 1) - p * step)
                present[ch] = p + 1
            }
        }
        return r
    }
}
