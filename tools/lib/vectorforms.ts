/**
 * Scaffolding shared by the golden-vector generators (tools/gen-vectors.ts for v1,
 * tools/gen-vectors-v2.ts for v2): deterministic key bytes, the JSON forms of decoded blocks and
 * verify reports, and the hex dump of an annotated worked example. Only presentation lives here:
 * each generator keeps its own scripts, and the v2 cross-check encoder (tools/lib/specv2.ts)
 * stays independent of this and of the shared codec.
 */
import { toHex } from "../../src/lib/codec/bytes"
import { BlockTime, GAP_REASONS } from "../../src/lib/codec/format"
import { DecodedBlock } from "../../src/lib/ledger/chain"
import { VerifyReport } from "../../src/lib/ledger/verify"

/** Bytes start, start+1, ... (mod 256): a fixed, readable K_0 for a vector chain. */
export function countingBytes(start: number, length: number): Buffer {
    const out = Buffer.alloc(length)
    for (let i = 0; i < length; i++) out[i] = (start + i) % 256
    return out
}

export function timeJson(t: BlockTime) {
    const out: { boot: number; uptimeMs: number; unixTime?: number } = { boot: t.boot, uptimeMs: t.uptimeMs }
    if (t.unixTime !== undefined) out.unixTime = t.unixTime
    return out
}

/**
 * decodeBlock's result as plain JSON: hex for bytes, null for a missing value; `link` in the
 * header only where the block stores it (every v1 header, a v2 genesis body).
 */
export function decodedJson(d: DecodedBlock) {
    const h = d.header
    const header: Record<string, unknown> = { version: h.version, type: h.type, flags: h.flags, seq: h.seq }
    if (h.link) header.link = toHex(h.link)
    Object.assign(header, { time: timeJson(h.time), intervalMs: h.intervalMs, readingCount: h.readingCount })
    const out: Record<string, unknown> = { header }
    if (d.genesis)
        out.genesis = {
            deviceId: toHex(d.genesis.deviceId),
            firmware: d.genesis.firmware,
            board: d.genesis.board,
            channels: d.genesis.channels.map(c => ({ name: c.name, unit: c.unit, exponent: c.exponent })),
        }
    if (d.readings) out.readings = d.readings.map(r => r.map(v => (v === null || v === undefined ? null : v)))
    if (d.gap) {
        const g = d.gap
        const gap: Record<string, unknown> = {
            reason: g.reason,
            reasonName: GAP_REASONS[g.reason],
            lostReadings: g.lostReadings,
            from: timeJson(g.from),
            lostBlocks: g.lostBlocks,
            firstLostSeq: g.firstLostSeq,
        }
        if (g.lastLostHash) gap.lastLostHash = toHex(g.lastLostHash)
        out.gap = gap
    }
    return out
}

/** A verify report as plain JSON (undefined fields dropped). */
export function reportJson(report: VerifyReport) {
    return JSON.parse(JSON.stringify(report))
}

/** One annotated field of a worked example: bytes [start, end) of the block. */
export interface Row {
    start: number
    end: number
    field: string
    value: string
}

/** A reading in its unit: v * 10^exponent written out in decimal. */
export function scaled(v: number, exponent: number): string {
    if (exponent >= 0) return String(v * Math.pow(10, exponent))
    const negative = v < 0
    let digits = String(Math.abs(v))
    while (digits.length <= -exponent) digits = "0" + digits
    const cut = digits.length + exponent
    return (negative ? "-" : "") + digits.slice(0, cut) + "." + digits.slice(cut)
}

/** The fenced hex dump of a worked example: 16 bytes a line, each field named on its first line, then the notes. */
export function rowsDump(bytes: Buffer, rows: Row[], notes: string[]): string[] {
    const out = ["```", "offset  bytes                             field              value"]
    for (const row of rows) {
        for (let at = row.start; at < row.end; at += 16) {
            const hex = toHex(bytes.subarray(at, Math.min(at + 16, row.end)))
            const first = at === row.start
            out.push(
                (String(at).padStart(6) + "  " + hex.padEnd(32) + "  " + (first ? row.field.padEnd(17) + "  " + row.value : "")).trimEnd()
            )
        }
    }
    for (const note of notes) out.push("        . " + note)
    out.push("```")
    return out
}
