/**
 * A data block's readings as the tools show them: one row per reading, at the block's time plus
 * i * intervalMs, with physical values. One shape for the gateway's readings view, the owner's
 * `verify --data-key` and the dashboard's decryption (bundled into the browser: no Node import
 * here); tools/lib/readingscsv.ts writes these rows as CSV.
 */
import type { BlockHeader, ChannelSpec } from "../../src/lib/codec/format"
import { fromFixedPoint } from "../../src/lib/codec/fixedpoint"
import type { Reading } from "../../src/lib/codec/readings"

export interface ReadingRow {
    seq: number
    boot: number
    uptimeMs: number
    /** Physical values (x * 10^exponent), null where missing. */
    values: (number | null)[]
    /** The block's readings are end-to-end encrypted and were read without the data key: `values` is empty (docs/API.md). */
    encrypted?: true
    unixTime?: number
}

/** A reading's physical values: x * 10^exponent of its channel (exponent 0 past the channels given), null where missing. */
export function physicalValues(reading: Reading, channels: ChannelSpec[]): (number | null)[] {
    return reading.map((x, c) => (x === null ? null : fromFixedPoint(x, channels[c] ? channels[c].exponent : 0)))
}

/**
 * The rows of a data block with header `h`. `readings` undefined (encrypted, read without the
 * data key): its times, with no values.
 */
export function blockReadingRows(h: BlockHeader, readings: Reading[] | undefined, channels: ChannelSpec[]): ReadingRow[] {
    const rows: ReadingRow[] = []
    for (let i = 0; i < h.readingCount; i++) {
        const offset = i * h.intervalMs
        const row: ReadingRow = {
            seq: h.seq,
            boot: h.time.boot,
            uptimeMs: h.time.uptimeMs + offset,
            values: readings ? physicalValues(readings[i], channels) : [],
        }
        if (!readings) row.encrypted = true
        if (h.time.unixTime !== undefined) row.unixTime = h.time.unixTime + offset / 1000
        rows.push(row)
    }
    return rows
}
