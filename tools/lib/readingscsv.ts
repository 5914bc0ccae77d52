/**
 * Readings as CSV, one format wherever readings leave as a table: the gateway's
 * `GET .../readings?format=csv`, `fieldledger verify --data-key`, and the dashboard's
 * decrypted download (bundled into the browser: no Node import here). Columns: seq, boot,
 * uptimeMs, unixTime (empty without one), then one per channel, "name (unit)", an empty cell
 * where a value is missing or (for the gateway) encrypted.
 */
import type { ChannelSpec } from "../../src/lib/codec/format"
import type { ReadingRow } from "./readingrows"

/** A cell as RFC 4180 has it: quoted when it holds a quote, a comma or a line break. */
function cell(text: string): string {
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text
}

/** The header line (channel names come from the device's genesis block: quoted as needed). */
export function csvHeader(channels: ChannelSpec[]): string {
    return ["seq", "boot", "uptimeMs", "unixTime", ...channels.map(c => cell(c.name + " (" + c.unit + ")"))].join(",")
}

/** One reading's line, without its line break. */
export function csvLine(row: ReadingRow): string {
    return [row.seq, row.boot, row.uptimeMs, row.unixTime ?? "", ...row.values.map(v => (v === null ? "" : String(v)))].join(",")
}

/** A whole table: the header and every row, one per line. */
export function readingsCsv(channels: ChannelSpec[], rows: ReadingRow[]): string {
    return [csvHeader(channels), ...rows.map(csvLine)].join("\n")
}
