/**
 * The firmware pipeline in the simulator: Jacdac sensor servers (simulated temperature,
 * humidity, pressure) and a failing channel -> ledger -> sealed blocks, verified on the device
 * with the shared verifier under the runtime's native crypto.
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { startFirmware } from "../../src/device/firmware"
import { newChainHead, SealedBlock } from "../../src/lib/ledger/chain"
import { Ledger } from "../../src/lib/ledger/ledger"
import { MAX_BLOCK_BYTES, RECORD_DATA, RECORD_GENESIS } from "../../src/lib/codec/format"
import { verifyChain } from "../../src/lib/ledger/verify"
import { ChannelSource, waitForSensors } from "../../src/sensing/sensors"
import { startSimulatedSensors } from "../../src/sensing/simsensors"
import { brokenChannel, countingChannel } from "./helpers/fakesensors"

const deviceId = Buffer.from("12abdd2289421234", "hex")

function testKey(): Buffer {
    const key = Buffer.alloc(32)
    for (let i = 0; i < 32; i++) key[i] = 0xa0 + i
    return key
}

async function runFirmware(sources: ChannelSource[], ms: number, maxBlockAgeMs: number): Promise<SealedBlock[]> {
    const blocks: SealedBlock[] = []
    const ledger = new Ledger(deviceCrypto, deviceId, sources.map(s => s.spec), newChainHead(testKey()), { intervalMs: 100, maxBlockAgeMs })
    blocks.push(ledger.sealGenesis({ boot: 0, uptimeMs: ds.millis() }, "test", "simulator"))
    const fw = startFirmware({
        ledger,
        boot: 0,
        intervalMs: 100,
        sources,
        onSealed: async sealed => {
            for (const b of sealed) blocks.push(b)
        },
    })
    await ds.sleep(ms)
    fw.stop()
    const last = ledger.sealOpen()
    if (last) blocks.push(last)
    return blocks
}

describe("firmware pipeline", () => {
    test("seals simulated sensor readings into a chain the shared verifier accepts", async () => {
        const sensors = startSimulatedSensors(7)
        expect(await waitForSensors(sensors, 5000)).toBe(true)
        const blocks = await runFirmware(sensors, 2500, 1000)
        expect(blocks[0].type).toBe(RECORD_GENESIS)
        expect(blocks.length >= 3).toBe(true)
        for (const b of blocks) expect(b.bytes.length <= MAX_BLOCK_BYTES).toBe(true)
        const report = verifyChain(deviceCrypto, blocks.map(b => b.bytes), { deviceId, key0: testKey() })
        expect(report.ok).toBe(true)
        expect(report.summary.readings >= 20).toBe(true)
        expect(report.summary.missingValues).toBe(0)
    })

    test("records a failing sensor as missing values and keeps sampling the others", async () => {
        const blocks = await runFirmware([countingChannel("count", 5, 3), brokenChannel("broken")], 1500, 500)
        const report = verifyChain(deviceCrypto, blocks.map(b => b.bytes), { deviceId, key0: testKey() })
        expect(report.ok).toBe(true)
        expect(report.summary.readings >= 10).toBe(true)
        expect(report.summary.missingValues).toBe(report.summary.readings)
    })

    test("seals on the time limit even when the block has room", async () => {
        const blocks = await runFirmware([countingChannel("count", 0, 1)], 1800, 400)
        let data = 0
        for (const b of blocks) if (b.type === RECORD_DATA) data++
        expect(data >= 3).toBe(true)
    })

    test("rejects its own chain under a different key", async () => {
        const blocks = await runFirmware([countingChannel("count", 0, 1)], 500, 200)
        const wrong = testKey()
        wrong[0] ^= 1
        const report = verifyChain(deviceCrypto, blocks.map(b => b.bytes), { deviceId, key0: wrong })
        expect(report.ok).toBe(false)
        expect(report.failure.code).toBe("tag")
        expect(report.failure.index).toBe(0)
    })
})
