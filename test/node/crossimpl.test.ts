/**
 * Cross-implementation proof: the firmware seals a chain in the DeviceScript simulator with
 * the runtime's native crypto; the Node verifier (@noble/hashes) must accept it, block for block.
 * Signed checkpoints too: sealed and signed by the bytecode Ed25519 signer in the simulator,
 * verified on Node with the public key alone (node:crypto), no K_0.
 */
import { describe, expect, test } from "vitest"
import { SIMULATOR_DEV_KEY_HEX } from "../../src/lib/ledger/devkey"
import { decodeBlock } from "../../src/lib/ledger/chain"
import { verifyChain } from "../../src/lib/ledger/verify"
import { nobleCrypto } from "../../tools/lib/crypto"
import { blocksFromLog, cleanLine, parseDeviceLine } from "../../tools/lib/devicelog"
import { verifyEd25519 } from "../../tools/lib/ed25519"
import { RECORD_CHECKPOINT } from "../../src/lib/codec/format"
import { signedCheckpointMessage } from "../../src/lib/ledger/signedcheckpoint"
import { blockHash } from "../../src/lib/ledger/keys"
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

describe("signed checkpoints sealed in the simulator, verified on Node", () => {
    test("the chain verifies with pk_0 alone (no K_0), and node:crypto verifies every signature on its own", async () => {
        const run = await runDevs(["run", "test/device/signcheck.test.ts", "--test", "--test-self-exit", "-T", "120000"], {
            timeoutMs: 180000,
        })
        const lines = run.output.split("\n").map(cleanLine)
        const footer = lines.find(l => l.startsWith("fl:signcheck"))
        expect(footer, run.output.slice(-2000)).toBeDefined()
        const deviceId = Buffer.from(/device=([0-9a-f]{16})/.exec(footer!)![1], "hex")
        const keyLine = lines.map(l => parseDeviceLine(l)).find(l => l && l.kind === "signkey")
        expect(keyLine && keyLine.kind === "signkey" && keyLine.keyIndex).toBe(0)
        const publicKey0 = Buffer.from(keyLine!.kind === "signkey" ? keyLine!.publicKey : "", "hex")
        const blocks = blocksFromLog(run.output).map(b => b.bytes)
        expect(blocks.length).toBe(Number(/blocks=(\d+)/.exec(footer!)![1]))

        const report = verifyChain(nobleCrypto, blocks, { deviceId, publicKey0, verifySignature: verifyEd25519 })
        expect(report.failure).toBeUndefined()
        expect(report.summary.authenticated).toBe(false)
        expect(report.summary.signed).toMatchObject({ verifiedTo: 6, checkpoints: 2, unsignedFrom: 7, unsignedTo: 7 })
        // With K_0 too, the tags agree.
        expect(verifyChain(nobleCrypto, blocks, { deviceId, key0: Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex") }).ok).toBe(true)

        // node:crypto alone, along the certified keys.
        let publicKey: Buffer = publicKey0
        let link = decodeBlock(blocks[0]).header.link
        for (const bytes of blocks) {
            const d = decodeBlock(bytes)
            if (d.header.type === RECORD_CHECKPOINT) {
                const unsigned = d.content.subarray(0, d.content.length - 64)
                expect(verifyEd25519(publicKey, signedCheckpointMessage(deviceId, link, unsigned), d.checkpoint!.signature!)).toBe(true)
                publicKey = d.checkpoint!.nextPublicKey
            }
            link = blockHash(nobleCrypto, link, bytes)
        }
        expect(run.code).toBe(0)
    })
})
