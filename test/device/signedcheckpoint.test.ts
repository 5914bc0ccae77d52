/**
 * Signed checkpoints on the device: the golden chain (test/vectors/golden-checkpoint.ts, written
 * on Node by an independent encoder and checked by node:crypto) re-sealed byte for byte by the
 * firmware's own code: the Ledger seals the genesis and data blocks, and each signed checkpoint
 * comes from the bytecode signer (publicKeyOf, signWith, yielding between steps), the native
 * HMAC seed evolution and the Ledger's checkpoint sealing, as src/device/signer.ts does it.
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { BlockTime } from "../../src/lib/codec/format"
import { newChainHead, SealedBlock } from "../../src/lib/ledger/chain"
import { Ledger } from "../../src/lib/ledger/ledger"
import { signedCheckpointMessage } from "../../src/lib/ledger/signedcheckpoint"
import { publicKeyOf, signWith } from "../../src/lib/sign/ed25519"
import { nextSeed } from "../../src/lib/store/signingstate"
import {
    GoldenCheckpointTime,
    goldenCheckpointChain,
    goldenCheckpointDeviceId,
    goldenCheckpointKey0,
    goldenCheckpointPublicKey0,
    goldenCheckpointSeed0,
} from "../vectors/golden-checkpoint"

const INTERVAL_MS = 1000

function hex(b: Buffer): string {
    return b.toString("hex")
}

function time(t: GoldenCheckpointTime): BlockTime {
    const out: BlockTime = { boot: t.boot, uptimeMs: t.uptimeMs }
    if (t.unixTime !== undefined && t.unixTime !== null) out.unixTime = t.unixTime
    return out
}

const pause = async () => await ds.sleep(0)

/** `n` bytes of value `b` (the runtime's Buffer.alloc takes no fill). */
function filled(n: number, b: number): Buffer {
    const out = Buffer.alloc(n)
    for (let i = 0; i < n; i++) out[i] = b
    return out
}

const DEVICE_ID = Buffer.from(goldenCheckpointDeviceId, "hex")

/** A Ledger at the start of the golden chain: its device, channel and K_0. */
function goldenLedger(): Ledger {
    return new Ledger(
        deviceCrypto,
        DEVICE_ID,
        [{ name: "temperature", unit: "degC", exponent: -2 }],
        newChainHead(Buffer.from(goldenCheckpointKey0, "hex")),
        { intervalMs: INTERVAL_MS }
    )
}

describe("signed checkpoints on the device", () => {
    test("re-seals the golden signed-checkpoint chain byte for byte", async () => {
        const ledger = goldenLedger()
        let seed = Buffer.from(goldenCheckpointSeed0, "hex")
        let publicKey = await publicKeyOf(seed, pause)
        expect(hex(publicKey)).toBe(goldenCheckpointPublicKey0)
        for (const g of goldenCheckpointChain) {
            let block: SealedBlock
            if (g.type === "genesis") block = ledger.sealGenesis(time(g.time), "fieldledger/0.1.0", "simulator")
            else if (g.type === "data") {
                const t = time(g.time)
                for (let i = 0; i < g.readings.length; i++) {
                    const at: BlockTime = { boot: t.boot, uptimeMs: t.uptimeMs + i * INTERVAL_MS }
                    ledger.append([g.readings[i]], at)
                }
                block = ledger.sealOpen()
            } else {
                const v = g.checkpoint
                expect(v.keyIndex === undefined).toBe(false)
                expect(hex(seed)).toBe(v.seed)
                expect(hex(publicKey)).toBe(v.publicKey)
                const next = nextSeed(deviceCrypto, seed)
                expect(hex(next)).toBe(v.nextSeed)
                const nextPublicKey = await publicKeyOf(next, pause)
                expect(hex(nextPublicKey)).toBe(v.nextPublicKey)
                const cp = { keyIndex: v.keyIndex, nextPublicKey, signature: undefined as Buffer }
                const unsigned = ledger.signedCheckpointContent(cp, time(g.time))
                expect(unsigned.seq).toBe(g.seq)
                expect(hex(unsigned.link)).toBe(g.link)
                expect(hex(unsigned.content)).toBe(v.unsigned)
                const message = signedCheckpointMessage(DEVICE_ID, unsigned.link, unsigned.content)
                expect(hex(message)).toBe(v.message)
                cp.signature = await signWith(seed, publicKey, message, pause)
                expect(hex(cp.signature)).toBe(v.signature)
                block = ledger.sealSignedCheckpoint(cp, unsigned.time, unsigned.seq)
                seed = next
                publicKey = nextPublicKey
            }
            console.log("  block " + g.seq + " " + g.type)
            expect(block.seq).toBe(g.seq)
            expect(hex(block.bytes)).toBe(g.block)
            expect(hex(block.hash)).toBe(g.hash)
            await ds.sleep(0)
        }
    })

    test("refuses to seal a signed checkpoint once another block took its seq", async () => {
        const ledger = goldenLedger()
        const cp = { keyIndex: 0, nextPublicKey: filled(32, 1), signature: undefined as Buffer }
        // Nothing sealed yet: no time for a checkpoint.
        expect(ledger.signedCheckpointContent(cp) === undefined).toBe(true)
        ledger.sealGenesis({ boot: 1, uptimeMs: 0 }, "fieldledger/0.1.0", "simulator")
        const at = ledger.signedCheckpointContent(cp)
        expect(at.seq).toBe(1)
        ledger.append([2210], { boot: 1, uptimeMs: 1000 })
        ledger.sealOpen()
        cp.signature = filled(64, 2)
        expect(ledger.sealSignedCheckpoint(cp, at.time, at.seq) === undefined).toBe(true)
        // The same signature for the seq the ledger is at now is accepted (the Ledger does not verify it).
        const now = ledger.signedCheckpointContent(cp)
        expect(now.seq).toBe(2)
        // Its time is the end of the block before it.
        expect(now.time.uptimeMs).toBe(1000)
        expect(ledger.sealSignedCheckpoint(cp, now.time, now.seq).seq).toBe(2)
    })
})
