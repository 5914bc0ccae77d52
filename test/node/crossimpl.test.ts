/**
 * Cross-implementation proof: the firmware seals a chain in the DeviceScript simulator with
 * the runtime's native crypto; the Node verifier (@noble/hashes) must accept it, block for block.
 */
import { describe, expect, test } from "vitest"
import { SIMULATOR_DEV_KEY_HEX } from "../../src/lib/ledger/devkey"
import { decodeBlock } from "../../src/lib/ledger/chain"
import { verifyChain } from "../../src/lib/ledger/verify"
import { nobleCrypto } from "../../tools/lib/crypto"
import { blocksFromLog, cleanLine } from "../../tools/lib/devicelog"
import { runDevs } from "../../tools/lib/devs"

describe("firmware chain verified on Node", () => {
    test("the Node verifier accepts every block the simulated firmware sealed", async () => {
        const run = await runDevs(["run", "test/device/hostcheck.test.ts", "--test", "--test-self-exit", "-T", "30000"], {
            timeoutMs: 90000,
        })
        const lines = run.output.split("\n").map(cleanLine)
        const footer = lines.find(l => l.startsWith("fl:hostcheck"))
        expect(footer, run.output.slice(-2000)).toBeDefined()
        const deviceId = Buffer.from(/device=([0-9a-f]{16})/.exec(footer!)![1], "hex")
        const declared = Number(/blocks=(\d+)/.exec(footer!)![1])
        const blocks = blocksFromLog(run.output)
        expect(blocks.length).toBe(declared)
        expect(blocks.length).toBeGreaterThanOrEqual(3)

        const report = verifyChain(
            nobleCrypto,
            blocks.map(b => b.bytes),
            { deviceId, key0: Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex") }
        )
        expect(report.failure).toBeUndefined()
        expect(report.ok).toBe(true)
        expect(report.summary.authenticated).toBe(true)
        // The fourth channel's sensor failed on every read: one missing value per reading.
        expect(report.summary.channels!.map(c => c.name)).toEqual(["temperature", "humidity", "pressure", "broken"])
        expect(report.summary.missingValues).toBe(report.summary.readings)
        // The firmware seals format v2 (docs/FORMAT.md, "Format v2").
        for (const b of blocks) expect(b.bytes[0]).toBe(2)
        for (const b of blocks.slice(1)) {
            for (const reading of decodeBlock(b.bytes).readings!) {
                expect(reading[0]).toBeGreaterThan(-1000)
                expect(reading[3]).toBeNull()
            }
        }
        expect(run.code).toBe(0)
    })
})
