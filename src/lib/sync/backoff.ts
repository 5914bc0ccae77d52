/**
 * Retry delays for sync: exponential in the number of consecutive failures, capped, with
 * "equal jitter" (half the delay fixed, half random) so that a fleet that lost its gateway at
 * the same moment does not come back at the same moment. Pure: the caller supplies the random.
 */

export interface BackoffOptions {
    /** Delay after the first failure. */
    baseMs: number
    /** Longest delay, however many failures. */
    maxMs: number
}

/** Delay before the next try after `failures` consecutive failures (>= 1); `random01` in [0, 1). */
export function backoffDelayMs(o: BackoffOptions, failures: number, random01: number): number {
    if (!(o.baseMs > 0) || !(o.maxMs >= o.baseMs)) throw new RangeError("backoff needs 0 < baseMs <= maxMs")
    let delay = o.baseMs
    // Doubling step by step rather than 2^failures: no overflow however long the outage.
    for (let i = 1; i < failures && delay < o.maxMs; i++) delay = delay * 2
    if (delay > o.maxMs) delay = o.maxMs
    const r = random01 >= 0 && random01 < 1 ? random01 : 0
    return Math.floor(delay / 2 + r * (delay / 2))
}
