/**
 * Bytes per reading on real data, amortized over the whole chain (genesis, every header, link
 * and tag), beside the same readings as raw fixed point, JSON lines, and one CBOR record with
 * a COSE_Mac0 tag (HMAC 256/64, RFC 9052/9053) per reading.
 */
import { createHmac } from "node:crypto"
import { brotliCompressSync, constants as zlibConstants } from "node:zlib"
import { encode as cborEncode } from "cborg"
import { decodeBlock, newChainHead } from "../../src/lib/ledger/chain"
import { ChannelSpec, headerSize, TAG_BYTES } from "../../src/lib/codec/format"
import { Ledger } from "../../src/lib/ledger/ledger"
import { verifyChain } from "../../src/lib/ledger/verify"
import { nobleCrypto } from "../lib/crypto"
import { decryptChain } from "../lib/decryptchain"
import type { BenchSection } from "./section"
import {
    loadSeattle,
    loadSeattleDaily,
    SEATTLE_CHANNELS,
    SEATTLE_DAILY_CHANNELS,
    SEATTLE_DAILY_INTERVAL_MS,
    SEATTLE_INTERVAL_MS,
    SeattleRow,
} from "./seattle"

const DEVICE_ID = Buffer.from("12abdd2289421234", "hex")
const KEY0 = Buffer.alloc(32, 0x42)
const DATA_KEY0 = Buffer.alloc(32, 0xd0)

function sealSeattle(
    rows: SeattleRow[],
    channels: ChannelSpec[] = SEATTLE_CHANNELS,
    intervalMs = SEATTLE_INTERVAL_MS,
    dataKey0?: Buffer
): Buffer[] {
    // Seal on size only (no time limit): the figure is the codec's, not the sealing policy's.
    const head = newChainHead(Buffer.from(KEY0))
    // With a data key the readings are encrypted (provision --encrypt).
    if (dataKey0) head.dataKey = Buffer.from(dataKey0)
    const ledger = new Ledger(nobleCrypto, DEVICE_ID, channels, head, { intervalMs, maxBlockAgeMs: 2 ** 53 - 1 })
    const blocks = [ledger.sealGenesis({ boot: 0, uptimeMs: 0, unixTime: rows[0].unixTime }, "fieldledger/bench", "bench").bytes]
    rows.forEach((row, i) => {
        for (const b of ledger.append(row.values, {
            boot: 0,
            uptimeMs: i * intervalMs,
            unixTime: rows[0].unixTime + (i * intervalMs) / 1000,
        }))
            blocks.push(b.bytes)
    })
    const last = ledger.sealOpen()
    if (last) blocks.push(last.bytes)
    const report = verifyChain(nobleCrypto, blocks, { deviceId: DEVICE_ID, key0: KEY0 })
    if (!report.ok || report.summary.readings !== rows.length)
        throw new Error("the benchmark chain does not verify: " + JSON.stringify(report.failure))
    return blocks
}

/** node:zlib brotli at its best (quality 11, text mode) over `text`: bytes out. */
function brotliBytes(text: string): number {
    return brotliCompressSync(Buffer.from(text), {
        params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT },
    }).length
}

function rawFixedPoint(rows: SeattleRow[]): number {
    for (const r of rows) for (const v of r.values) if (v < -32768 || v > 32767) throw new Error("value " + v + " does not fit int16")
    return rows.length * 3 * 2
}

function jsonLines(rows: SeattleRow[]): number {
    let n = 0
    for (const r of rows) n += Buffer.byteLength(JSON.stringify({ t: r.unixTime, p: r.values[0], T: r.values[1], w: r.values[2] }) + "\n")
    return n
}

/** COSE_Mac0 (tag 17): [protected {1: 4 (HMAC 256/64)}, unprotected {}, payload, tag]. */
function coseMac0(rows: SeattleRow[]): number {
    const protectedHeader = cborEncode(new Map([[1, 4]]))
    let n = 0
    for (const r of rows) {
        const payload = cborEncode([r.unixTime, ...r.values])
        const macStructure = cborEncode(["MAC0", protectedHeader, new Uint8Array(0), payload])
        const tag = new Uint8Array(createHmac("sha256", KEY0).update(macStructure).digest().subarray(0, 8))
        // Tag 17 (COSE_Mac0) is below 24, so its head is the single byte 0xd1 (RFC 8949 3.4).
        n += 1 + cborEncode([protectedHeader, new Map(), payload, tag]).length
    }
    return n
}

export const compactness: BenchSection = {
    name: "compactness",
    description:
        "bytes per reading, whole chain: seattle-weather-hourly-normals (3 channels) and seattle-weather daily (4 channels, beside brotli)",
    async run() {
        const rows = loadSeattle()
        const blocks = sealSeattle(rows)
        const total = blocks.reduce((n, b) => n + b.length, 0)
        const data = blocks.slice(1).map(decodeBlock)
        let header = 0
        let payload = 0
        for (const b of data) {
            const h = b.header
            const hs = headerSize(h.seq, h.time, h.intervalMs, h.readingCount)
            header += hs
            payload += b.content.length - hs
        }
        // The same readings encrypted end to end, and how fast the owner's verify --data-key
        // decrypts them (tools/lib/decryptchain.ts, one core: best of several passes).
        const encrypted = sealSeattle(rows, SEATTLE_CHANNELS, SEATTLE_INTERVAL_MS, DATA_KEY0)
        const encryptedTotal = encrypted.reduce((n, b) => n + b.length, 0)
        let bestMs = Infinity
        for (let pass = 0; pass < 15; pass++) {
            const t0 = performance.now()
            const out = decryptChain(encrypted, DEVICE_ID, DATA_KEY0)
            bestMs = Math.min(bestMs, performance.now() - t0)
            if (out.rows.length !== rows.length || Math.round(out.rows[7].values[1]! * 10) !== rows[7].values[1])
                throw new Error("the encrypted benchmark chain does not decrypt to its readings")
        }
        const daily = loadSeattleDaily()
        const dailyBlocks = sealSeattle(daily.rows, SEATTLE_DAILY_CHANNELS, SEATTLE_DAILY_INTERVAL_MS)
        const dailyTotal = dailyBlocks.reduce((n, b) => n + b.length, 0)
        const brotliWithDate = brotliBytes(daily.csvWithDate)
        const brotliWithoutDate = brotliBytes(daily.csvWithoutDate)
        const perDay = (bytes: number) => bytes / daily.rows.length
        const raw = rawFixedPoint(rows)
        const json = jsonLines(rows)
        const cose = coseMac0(rows)
        const perReading = (bytes: number) => bytes / rows.length
        const figures = {
            bytesPerReading: perReading(total),
            bytesPerReadingEncrypted: perReading(encryptedTotal),
            decryptReadingsPerSec: Math.round(rows.length / (bestMs / 1000)),
            bytesPerReadingRaw: perReading(raw),
            bytesPerReadingJsonLines: perReading(json),
            bytesPerReadingCoseMac0: perReading(cose),
            ledgerBlocks: blocks.length,
            readingsPerBlock: rows.length / data.length,
            maxBlockBytes: Math.max(...blocks.map(b => b.length)),
            bytesPerReadingDaily: perDay(dailyTotal),
            brotliBytesPerRowDaily: perDay(brotliWithDate),
            brotliBytesPerRowDailyNoDate: perDay(brotliWithoutDate),
            readingsPerBlockDaily: daily.rows.length / (dailyBlocks.length - 1),
        }
        const row = (name: string, bytes: number) =>
            `  ${name.padEnd(34)} ${String(bytes).padStart(8)} B  ${perReading(bytes).toFixed(2).padStart(6)} B/reading  ${(bytes / raw).toFixed(2)}x raw`
        const n = data.length
        return {
            figures,
            lines: [
                `${rows.length} readings, 3 channels (0.1 hPa, 0.1 degC, 0.1 m/s), hourly`,
                row("fieldledger chain (all blocks)", total),
                row("fieldledger chain, encrypted", encryptedTotal),
                `  verify --data-key decrypts ${Math.round(rows.length / (bestMs / 1000)).toLocaleString("en-US")} readings/s (one core)`,
                row("raw fixed point, 3 x int16", raw),
                row("JSON lines", json),
                row("CBOR + COSE_Mac0 per reading", cose),
                `  ${blocks.length} blocks (genesis ${blocks[0].length} B), ${figures.readingsPerBlock.toFixed(1)} readings per data block, largest block ${figures.maxBlockBytes} B`,
                `  average data block: header ${(header / n).toFixed(1)} B (v2: no stored link) + readings ${(payload / n).toFixed(1)} B + tag ${TAG_BYTES} B`,
                `${daily.rows.length} daily readings (seattle-weather.csv), 4 channels (precipitation, temp_max, temp_min, wind at 0.1), the chain against brotli q11 over the same CSV rows:`,
                `  fieldledger chain (all blocks, integrity included) ${String(dailyTotal).padStart(7)} B  ${perDay(dailyTotal).toFixed(2)} B/reading, ${figures.readingsPerBlockDaily.toFixed(1)} readings per data block`,
                `  brotli q11, rows with their date (the chain carries time too) ${String(brotliWithDate).padStart(7)} B  ${perDay(brotliWithDate).toFixed(2)} B/row`,
                `  brotli q11, rows without the date ${String(brotliWithoutDate).padStart(7)} B  ${perDay(brotliWithoutDate).toFixed(2)} B/row`,
            ],
        }
    },
}
