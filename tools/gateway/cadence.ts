/**
 * A device's observed block period: how often it seals a data block, from the chain's own
 * device times (boot, uptime), not from when the gateway received the blocks (a device that was
 * offline delivers hours of blocks at once). A device syncs only when it has sealed blocks to
 * send (src/lib/sync/syncround.ts), so this is also about how often a healthy device is heard from: once a
 * minute in the simulator, once an hour on hardware defaults (src/device/config.ts, FL_BLOCK_AGE).
 * Pure: the store hands in the newest few blocks.
 */
import { RECORD_DATA } from "../../src/lib/codec/format"

/** How many of the newest blocks the period is taken over (at most one pair fewer). */
export const BLOCK_PERIOD_WINDOW = 9

/** What the period needs of a stored block. */
export interface BlockTimeRow {
    seq: number
    type: number
    boot: number
    uptimeMs: number
}

/**
 * The median time between consecutive data blocks of the same boot among `blocks` (any order;
 * the caller passes the newest BLOCK_PERIOD_WINDOW), in ms; null when no such pair exists.
 *
 * A data block's time is its first reading's, so the difference of two consecutive ones is the
 * time the first stayed open before it was sealed. Genesis and gap records are left out: they
 * are sealed at a boot or a loss, off the data blocks' rhythm. Pairs across a reboot are left
 * out (uptime restarts). The median, not the mean, so one block cut short by a reboot or one
 * long stall does not move it.
 */
export function blockPeriodMs(blocks: readonly BlockTimeRow[]): number | null {
    const data = blocks.filter(b => b.type === RECORD_DATA).sort((a, b) => a.seq - b.seq)
    const periods: number[] = []
    for (let i = 1; i < data.length; i++) {
        const before = data[i - 1]
        const after = data[i]
        const dt = after.uptimeMs - before.uptimeMs
        if (after.boot === before.boot && dt > 0) periods.push(dt)
    }
    return median(periods)
}

function median(values: number[]): number | null {
    if (values.length === 0) return null
    const sorted = [...values].sort((a, b) => a - b)
    const mid = sorted.length >> 1
    return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2)
}
