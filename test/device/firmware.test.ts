/**
 * The firmware pipeline in the simulator: Jacdac sensor servers (simulated temperature,
 * humidity, pressure) and a failing channel -> ledger -> sealed blocks, verified on the device
 * with the shared verifier under the runtime's native crypto.
 *
 * Each run stops after a given number of sampled readings, not after a time: on a busy machine
 * the sampler misses slots, which it records as readings with every value missing, so how many
 * readings (and missing values) a time window holds is not fixed. The assertions say what holds
 * whatever the machine's load: a sampled reading has what its channels gave, a missed slot has
 * nothing.
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { decodeBlock, SealedBlock } from "../../src/lib/ledger/chain"
import { MAX_BLOCK_BYTES, RECORD_DATA, RECORD_GENESIS } from "../../src/lib/codec/format"
import { Reading } from "../../src/lib/codec/readings"
import { verifyChain } from "../../src/lib/ledger/verify"
import { ChannelSource, waitForSensors } from "../../src/sensing/sensors"
import { startSimulatedSensors } from "../../src/sensing/simsensors"
import { brokenChannel, countingChannel } from "./helpers/fakesensors"
import { startSealing } from "./helpers/sealing"

const deviceId = Buffer.from("12abdd2289421234", "hex")
const INTERVAL_MS = 100
/** Only a stuck pipeline takes this long; a busy machine takes a few seconds at most. */
const RUN_DEADLINE_MS = 60000

function testKey(): Buffer {
    const key = Buffer.alloc(32)
    for (let i = 0; i < 32; i++) key[i] = 0xa0 + i
    return key
}

/**
 * Runs the pipeline until it has taken `sampled` readings (slots it missed come on top), then
 * seals the open block. The sampler is stopped from within the last sample, so no sample is
 * in flight when the blocks are collected.
 */
async function runFirmware(sources: ChannelSource[], sampled: number, maxBlockAgeMs: number): Promise<SealedBlock[]> {
    let taken = 0
    let stopped = false
    const run = startSealing(sources, deviceId, testKey(), {
        intervalMs: INTERVAL_MS,
        maxBlockAgeMs,
        afterReading: async () => {
            taken++
            if (taken === sampled) {
                run.fw.stop()
                stopped = true
            }
        },
    })
    const deadline = ds.millis() + RUN_DEADLINE_MS
    while (!stopped) {
        if (ds.millis() > deadline) {
            run.fw.stop()
            throw new Error("the pipeline took " + taken + " of " + sampled + " readings in " + RUN_DEADLINE_MS + " ms")
        }
        await ds.sleep(20)
    }
    return run.sealed()
}

/** Every reading of the data blocks, in chain order. */
function dataReadings(blocks: SealedBlock[]): Reading[] {
    const rows: Reading[] = []
    for (const b of blocks) if (b.type === RECORD_DATA) for (const r of decodeBlock(b.bytes).readings) rows.push(r)
    return rows
}

/** Readings with every value missing: the slots the sampler missed. */
function missedSlots(rows: Reading[]): number {
    let missed = 0
    for (const r of rows) {
        let known = 0
        for (const v of r) if (v !== null) known++
        if (known === 0) missed++
    }
    return missed
}

describe("firmware pipeline", () => {
    test("seals simulated sensor readings into a chain the shared verifier accepts", async () => {
        const sensors = startSimulatedSensors(7)
        expect(await waitForSensors(sensors, 5000)).toBe(true)
        const blocks = await runFirmware(sensors, 20, 1000)
        expect(blocks[0].type).toBe(RECORD_GENESIS)
        // 20 readings on a 100 ms grid span at least 1.9 s: the 1 s age limit seals at least once.
        expect(blocks.length >= 3).toBe(true)
        for (const b of blocks) expect(b.bytes.length <= MAX_BLOCK_BYTES).toBe(true)
        const report = verifyChain(
            deviceCrypto,
            blocks.map(b => b.bytes),
            { deviceId, key0: testKey() }
        )
        expect(report.ok).toBe(true)
        const missed = missedSlots(dataReadings(blocks))
        expect(report.summary.readings).toBe(20 + missed)
        // Every sampled reading is complete: the only missing values are the missed slots'.
        expect(report.summary.missingValues).toBe(3 * missed)
    })

    test("records a failing sensor as missing values and keeps sampling the others", async () => {
        const blocks = await runFirmware([countingChannel("count", 5, 3), brokenChannel("broken")], 10, 500)
        const report = verifyChain(
            deviceCrypto,
            blocks.map(b => b.bytes),
            { deviceId, key0: testKey() }
        )
        expect(report.ok).toBe(true)
        const rows = dataReadings(blocks)
        expect(report.summary.readings).toBe(rows.length)
        // The broken channel is missing in every reading; the counting one has each of its ten
        // values, in order, and is missing only in the slots the sampler missed.
        const counts: number[] = []
        for (const r of rows) {
            expect(r[1]).toBe(null)
            if (r[0] !== null) counts.push(r[0])
        }
        expect(counts.length).toBe(10)
        for (let i = 0; i < counts.length; i++) expect(counts[i]).toBe(5 + 3 * i)
        expect(report.summary.missingValues).toBe(rows.length + (rows.length - 10))
    })

    test("seals on the time limit even when the block has room", async () => {
        // 18 readings on a 100 ms grid span at least 1.7 s: four 400 ms blocks at least.
        const blocks = await runFirmware([countingChannel("count", 0, 1)], 18, 400)
        let data = 0
        for (const b of blocks)
            if (b.type === RECORD_DATA) {
                data++
                expect(b.bytes.length < MAX_BLOCK_BYTES).toBe(true)
            }
        expect(data >= 3).toBe(true)
    })

    test("rejects its own chain under a different key", async () => {
        const blocks = await runFirmware([countingChannel("count", 0, 1)], 5, 200)
        const wrong = testKey()
        wrong[0] ^= 1
        const report = verifyChain(
            deviceCrypto,
            blocks.map(b => b.bytes),
            { deviceId, key0: wrong }
        )
        expect(report.ok).toBe(false)
        expect(report.failure.code).toBe("tag")
        expect(report.failure.index).toBe(0)
    })
})
