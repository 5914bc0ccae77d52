/**
 * The golden-vector suites' own reading of the vectors (test/node/lib/ledger/vectors.test.ts for
 * v1, vectorsv2.test.ts for v2), written apart from the generators (tools/gen-vectors*.ts) so
 * that a generator bug cannot hide behind itself.
 */
import { fromHex, toHex } from "../../../src/lib/codec/bytes"
import { BlockTime, GapBody } from "../../../src/lib/codec/format"
import { DecodedBlock } from "../../../src/lib/ledger/chain"
import { LedgerCrypto } from "../../../src/lib/ledger/keys"
import { nobleCrypto, nodeCrypto } from "../../../tools/lib/crypto"
import { GoldenV2Decoded } from "../../vectors/golden-v2"

/** Both Node crypto back ends, each suite's known answers run under each. */
export const BACKENDS: [string, LedgerCrypto][] = [
    ["@noble/hashes", nobleCrypto],
    ["node:crypto", nodeCrypto],
]

/** decodeBlock's result in the JSON shape of the vectors (v1 and v2: `link` only where the block stores it). */
export function asGolden(d: DecodedBlock): GoldenV2Decoded {
    const time = (t: BlockTime) =>
        t.unixTime === undefined ? { boot: t.boot, uptimeMs: t.uptimeMs } : { boot: t.boot, uptimeMs: t.uptimeMs, unixTime: t.unixTime }
    const h = d.header
    const header: GoldenV2Decoded["header"] = {
        version: h.version,
        type: h.type,
        flags: h.flags,
        seq: h.seq,
        time: time(h.time),
        intervalMs: h.intervalMs,
        readingCount: h.readingCount,
    }
    // The vectors list link after seq, where it sits in a v1 header; toEqual ignores the key order.
    if (h.link) header.link = toHex(h.link)
    const out: GoldenV2Decoded = { header }
    if (d.genesis)
        out.genesis = {
            deviceId: toHex(d.genesis.deviceId),
            firmware: d.genesis.firmware,
            board: d.genesis.board,
            channels: d.genesis.channels,
        }
    if (d.readings) out.readings = d.readings
    if (d.gap) {
        const g = d.gap
        out.gap = {
            reason: g.reason,
            reasonName: ["", "backlog-full", "power-loss", "sampling-stopped"][g.reason],
            lostReadings: g.lostReadings,
            from: time(g.from),
            lostBlocks: g.lostBlocks,
            firstLostSeq: g.firstLostSeq,
        }
        if (g.lastLostHash) out.gap.lastLostHash = toHex(g.lastLostHash)
    }
    return out
}

/** A vector's decoded gap record as the GapBody it was sealed from. */
export function gapBodyOf(g: NonNullable<GoldenV2Decoded["gap"]>): GapBody {
    return {
        reason: g.reason,
        lostReadings: g.lostReadings,
        from: g.from,
        lostBlocks: g.lostBlocks,
        firstLostSeq: g.firstLostSeq,
        lastLostHash: g.lastLostHash ? fromHex(g.lastLostHash, "vector") : undefined,
    }
}
