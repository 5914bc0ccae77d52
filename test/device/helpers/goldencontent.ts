/**
 * The content a golden vector block was sealed from, rebuilt from its decoded form (v1 and v2
 * vectors share the shape), for the device suites that re-seal the vectors byte for byte.
 */
import * as ds from "@devicescript/core"
import { expect } from "@devicescript/test"
import { deviceCrypto } from "../../../src/device/crypto"
import { BlockContent } from "../../../src/lib/ledger/chain"
import { BlockTime, RECORD_DATA, RECORD_GAP, RECORD_GENESIS } from "../../../src/lib/codec/format"
import { ReadingsBuilder } from "../../../src/lib/codec/readings"
import { verifyChain } from "../../../src/lib/ledger/verify"

/**
 * The decoded form both vector files give a block (golden.ts's GoldenDecoded, golden-v2.ts's
 * GoldenV2Decoded), spelled out here: importing either file, even for a type, would build its
 * whole object literal on the device's heap in every suite that uses this helper.
 */
export interface VectorTime {
    boot: number
    uptimeMs: number
    unixTime?: number
}

export interface VectorDecoded {
    header: { version: number; type: number; time: VectorTime; intervalMs: number }
    genesis?: { deviceId: string; firmware: string; board: string; channels: { name: string; unit: string; exponent: number }[] }
    readings?: (number | null)[][]
    gap?: { reason: number; lostReadings: number; from: VectorTime; lostBlocks: number; firstLostSeq: number; lastLostHash?: string }
}

export function hex(text: string): Buffer {
    return Buffer.from(text, "hex")
}

function time(t: VectorTime): BlockTime {
    const out: BlockTime = { boot: t.boot, uptimeMs: t.uptimeMs }
    if (t.unixTime !== undefined && t.unixTime !== null) out.unixTime = t.unixTime
    return out
}

/**
 * The block's content for sealBlock. Adds the readings with a suspension every 64, so that a
 * block of 255 readings stays within one fiber run's op budget.
 */
export async function contentOf(d: VectorDecoded): Promise<BlockContent> {
    const h = d.header
    if (h.type === RECORD_GENESIS) {
        const g = d.genesis
        return {
            type: RECORD_GENESIS,
            time: time(h.time),
            intervalMs: h.intervalMs,
            genesis: { deviceId: hex(g.deviceId), firmware: g.firmware, board: g.board, channels: g.channels },
        }
    }
    if (h.type === RECORD_GAP) {
        const g = d.gap
        const gap = {
            reason: g.reason,
            lostReadings: g.lostReadings,
            from: time(g.from),
            lostBlocks: g.lostBlocks,
            firstLostSeq: g.firstLostSeq,
            lastLostHash: g.lastLostHash ? hex(g.lastLostHash) : undefined,
        }
        return { type: RECORD_GAP, time: time(h.time), intervalMs: h.intervalMs, gap }
    }
    const readings = new ReadingsBuilder(d.readings[0].length, h.version)
    for (let i = 0; i < d.readings.length; i++) {
        if (i > 0 && (i & 63) === 0) await ds.sleep(0)
        readings.add(d.readings[i])
    }
    return { type: RECORD_DATA, time: time(h.time), intervalMs: h.intervalMs, readings }
}

/** A vector chain as both files give it: its blocks, K_0 and the verdict and totals Node found. */
export interface VectorChain {
    key0: string
    blocks: { exported: boolean; hex: string }[]
    verify: { ok: boolean; summary: { blocks: number; readings: number; missingValues: number; gaps: unknown[]; head?: { hash: string } } }
}

/** Verifies the chain's exported blocks here and expects the verdict and totals found on Node. */
export function expectVerifiesAsOnNode(chain: VectorChain, deviceId: Buffer) {
    const exported: Buffer[] = []
    for (const b of chain.blocks) if (b.exported) exported.push(hex(b.hex))
    const report = verifyChain(deviceCrypto, exported, { deviceId, key0: hex(chain.key0) })
    expect(report.ok).toBe(chain.verify.ok)
    expect(report.summary.blocks).toBe(chain.verify.summary.blocks)
    expect(report.summary.readings).toBe(chain.verify.summary.readings)
    expect(report.summary.missingValues).toBe(chain.verify.summary.missingValues)
    expect(report.summary.gaps.length).toBe(chain.verify.summary.gaps.length)
    expect(report.summary.head.hash).toBe(chain.verify.summary.head.hash)
}
