/**
 * Seals a v2 chain with signed checkpoints in the simulator, signed by the bytecode Ed25519
 * signer (src/lib/sign) under seeds evolved with the runtime's native HMAC, and prints every
 * block and pk_0 (`fl:signkey`); test/node/crossimpl.test.ts runs this file and verifies the
 * printed chain with the public key alone, through node:crypto. The firmware's own signing job
 * is the device side's; this is the record and the key chain, built from the shared codec.
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { printSealedBlock } from "../../src/device/blockprinter"
import { deviceCrypto } from "../../src/device/crypto"
import { RECORD_CHECKPOINT, RECORD_DATA, RECORD_GENESIS } from "../../src/lib/codec/format"
import { ReadingsBuilder } from "../../src/lib/codec/readings"
import { ChainHead, encodeContent, newChainHead, sealBlock } from "../../src/lib/ledger/chain"
import { SIMULATOR_DEV_KEY_HEX } from "../../src/lib/ledger/devkey"
import { SIGN_EVOLVE_LABEL, signedCheckpointMessage } from "../../src/lib/ledger/signedcheckpoint"
import { signKeyLine } from "../../src/lib/log/lines"
import { publicKeyOf as publicKeyOfSeed, signWith as signWithSeed } from "../../src/lib/sign/ed25519"

const INTERVAL_MS = 1000

const pause = async () => await ds.sleep(0)

async function publicKeyOf(seed: Buffer): Promise<Buffer> {
    return await publicKeyOfSeed(seed, pause)
}

async function signWith(seed: Buffer, publicKey: Buffer, message: Buffer): Promise<Buffer> {
    return await signWithSeed(seed, publicKey, message, pause)
}

describe("signed checkpoints for the host verifier", () => {
    test("seals and prints a chain with two signed checkpoints and an unsigned tail", async () => {
        const deviceId = Buffer.from(ds.deviceIdentifier("self"), "hex")
        let head: ChainHead = newChainHead(Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex"))
        let count = 0
        let uptimeMs = 100
        const seal = (content: any) => {
            const sealed = sealBlock(deviceCrypto, deviceId, head, content)
            printSealedBlock(sealed.block)
            head = sealed.next
            count++
        }
        const data = (value: number) => {
            const readings = new ReadingsBuilder(1, 2)
            for (let i = 0; i < 3; i++) readings.add([value + i])
            seal({ type: RECORD_DATA, time: { boot: 1, uptimeMs }, intervalMs: INTERVAL_MS, readings })
            uptimeMs += 3 * INTERVAL_MS
        }
        const channels = [{ name: "temperature", unit: "degC", exponent: -2 }]
        seal({
            type: RECORD_GENESIS,
            time: { boot: 1, uptimeMs },
            intervalMs: INTERVAL_MS,
            genesis: { deviceId, firmware: "signcheck", board: "simulator", channels },
        })
        let seed = Buffer.from("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf", "hex")
        let publicKey = await publicKeyOf(seed)
        console.log(signKeyLine(0, publicKey.toString("hex")))
        const evolveLabel = Buffer.from(SIGN_EVOLVE_LABEL)
        for (let keyIndex = 0; keyIndex < 2; keyIndex++) {
            data(2100 + keyIndex * 10)
            data(2105 + keyIndex * 10)
            const nextSeed = deviceCrypto.hmacSha256(seed, evolveLabel)
            const nextPublicKey = await publicKeyOf(nextSeed)
            const time = keyIndex === 0 ? { boot: 1, uptimeMs, unixTime: 1767225600 } : { boot: 1, uptimeMs }
            const checkpoint = { keyIndex, nextPublicKey }
            const unsigned = encodeContent(head, { type: RECORD_CHECKPOINT, time, intervalMs: INTERVAL_MS, checkpoint })
            const signature = await signWith(seed, publicKey, signedCheckpointMessage(deviceId, head.link, unsigned))
            seal({ type: RECORD_CHECKPOINT, time, intervalMs: INTERVAL_MS, checkpoint: { keyIndex, nextPublicKey, signature } })
            seed = nextSeed
            publicKey = nextPublicKey
        }
        data(2200)
        console.log("fl:signcheck device=" + ds.deviceIdentifier("self") + " blocks=" + count)
        expect(count).toBe(8)
    })
})
