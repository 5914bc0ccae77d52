/**
 * Public verification of signed checkpoints: up to which seq a chain is verified with only
 * pk_0 (no K_0), the unsigned tail, and what a holder of K_0 can no longer forge.
 */
import { describe, expect, test } from "vitest"
import { toHex } from "../../../../src/lib/codec/bytes"
import { decodeBlock, encodeContent } from "../../../../src/lib/ledger/chain"
import { deriveEpochKey } from "../../../../src/lib/ledger/keys"
import { verifyChain } from "../../../../src/lib/ledger/verify"
import { nodeCrypto } from "../../../../tools/lib/crypto"
import { nextSigningSeed, publicKeyOf, verifyEd25519 } from "../../../../tools/lib/ed25519"
import { buildChain, DEVICE_ID, testKey } from "../../helpers/chains"
import {
    alteredDataContent,
    buildSignedChain,
    chainHashes,
    droppedCheckpointChain,
    resealWithKey0,
    sealSignedCheckpoint,
    TEST_SEED0,
} from "../../helpers/signedchains"

const crypto = nodeCrypto
const chain = buildSignedChain(crypto, { dataBlocks: 8, signEvery: 3 })
const bytes = chain.blocks.map(b => b.bytes)
const publicly = (blocks: Buffer[], key0?: Buffer, publicKey0 = chain.publicKey0) =>
    verifyChain(crypto, blocks, { deviceId: DEVICE_ID, key0, publicKey0, verifySignature: verifyEd25519 })

const resealFrom = (blocks: Buffer[], at: number, content: Buffer) => resealWithKey0(crypto, blocks, at, content, chain.key0)
const alteredData = (blocks: Buffer[], at: number) => alteredDataContent(crypto, blocks, at)
const hashes = (blocks: Buffer[]) => chainHashes(crypto, blocks)

describe("public verification (pk_0, no K_0)", () => {
    test("the test chain: checkpoints at seqs 4 and 8 (key indices 0 and 1), then an unsigned tail of 2 data blocks", () => {
        expect(chain.checkpointSeqs).toEqual([4, 8])
        expect(bytes.length).toBe(11)
    })

    test.each([
        ["without K_0", undefined],
        ["with K_0", chain.key0],
    ])("verified up to the last signed checkpoint %s; the tail after it is reported apart", (_, key0) => {
        const report = publicly(bytes, key0)
        expect(report.failure).toBeUndefined()
        expect(report.summary.authenticated).toBe(!!key0)
        expect(report.summary.signed).toMatchObject({
            verifiedTo: 8,
            checkpoints: 2,
            checkpointsSeen: 2,
            unsignedFrom: 9,
            unsignedTo: 10,
            unsignedBlocks: 2,
        })
        // The next key: pk_2, certified by checkpoint 1.
        expect(report.summary.signed.nextPublicKey).toBe(toHex(publicKeyOf(nextSigningSeed(nextSigningSeed(TEST_SEED0)))))
    })

    test("a chain ending on a checkpoint has no unsigned tail", () => {
        const report = publicly(bytes.slice(0, 9))
        expect(report.summary.signed).toMatchObject({ verifiedTo: 8, unsignedBlocks: 0 })
        expect(report.summary.signed.unsignedFrom).toBeUndefined()
    })

    test("another device's public key verifies nothing: the first checkpoint fails as 'signature'", () => {
        const report = publicly(bytes, undefined, publicKeyOf(Buffer.alloc(32, 1)))
        expect(report.failure).toMatchObject({ index: 4, seq: 4, code: "signature" })
        expect(report.summary.signed.verifiedTo).toBeUndefined()
    })

    test("a chain without signed checkpoints, and a v1 chain: nothing publicly verified, every block in the unsigned tail", () => {
        for (const version of [1, 2]) {
            const plain = buildChain(crypto, { formatVersion: version }).blocks.map(b => b.bytes)
            const report = publicly(plain)
            expect(report.ok).toBe(true)
            expect(report.summary.signed).toMatchObject({
                checkpoints: 0,
                checkpointsSeen: 0,
                unsignedFrom: 0,
                unsignedBlocks: plain.length,
            })
            expect(report.summary.signed.verifiedTo).toBeUndefined()
        }
    })

    test("without a public key nothing is said about signatures", () => {
        expect(verifyChain(crypto, bytes, { deviceId: DEVICE_ID, key0: chain.key0 }).summary.signed).toBeUndefined()
    })
})

describe("what a holder of K_0 can no longer forge", () => {
    test.each([
        // [altered index, the public verification stops at: verified up to, failing checkpoint]
        [2, undefined, 4],
        [6, 4, 8],
    ])(
        "block %i altered and the chain re-sealed under K_0: K_0 accepts it, public verification stops before it",
        (at, verifiedTo, failsAt) => {
            const forged = resealFrom(bytes, at, alteredData(bytes, at))
            expect(forged[at].equals(bytes[at])).toBe(false)
            // Under K_0 alone the forgery is a perfectly valid chain: the gateway could make it.
            expect(verifyChain(crypto, forged, { deviceId: DEVICE_ID, key0: chain.key0 }).ok).toBe(true)
            for (const key0 of [undefined, chain.key0]) {
                const report = publicly(forged, key0)
                expect(report.failure).toMatchObject({ index: failsAt, seq: failsAt, code: "signature" })
                expect(report.summary.signed.verifiedTo).toBe(verifiedTo)
                expect(verifiedTo === undefined || verifiedTo < at).toBe(true)
            }
        }
    )

    test("an altered tail block is not vouched for: it stays in the unsigned tail", () => {
        const forged = resealFrom(bytes, 9, alteredData(bytes, 9))
        const report = publicly(forged)
        expect(report.ok).toBe(true)
        expect(report.summary.signed).toMatchObject({ verifiedTo: 8, unsignedFrom: 9, unsignedBlocks: 2 })
    })

    test("a checkpoint signed under a key other than the certified one fails as 'signature'", () => {
        const head = { seq: 4, link: chain.blocks[3].hash, key: deriveEpochKey(crypto, chain.key0, DEVICE_ID, 4) }
        const wrong = sealSignedCheckpoint(crypto, DEVICE_ID, head, { boot: 0, uptimeMs: 20000 }, 0, Buffer.alloc(32, 7))
        const report = publicly([...bytes.slice(0, 4), wrong.block.bytes], chain.key0)
        expect(report.failure).toMatchObject({ index: 4, code: "signature" })
    })

    test.each([1, 2])("a checkpoint with key index %i where 0 is due fails as 'checkpoint-key'", keyIndex => {
        const head = { seq: 4, link: chain.blocks[3].hash, key: deriveEpochKey(crypto, chain.key0, DEVICE_ID, 4) }
        const wrong = sealSignedCheckpoint(crypto, DEVICE_ID, head, { boot: 0, uptimeMs: 20000 }, keyIndex, TEST_SEED0)
        const report = publicly([...bytes.slice(0, 4), wrong.block.bytes], chain.key0)
        expect(report.failure).toMatchObject({ index: 4, code: "checkpoint-key" })
    })

    test("a signed checkpoint replayed later (key index behind) fails as 'checkpoint-key'", () => {
        // The chain's own checkpoint 0, re-sealed at seq 8 in place of checkpoint 1 by whoever holds K_0.
        const cp0 = decodeBlock(bytes[4])
        const head = { seq: 8, link: hashes(bytes)[7], key: testKey() }
        const content = encodeContent(head, {
            type: cp0.header.type,
            time: decodeBlock(bytes[8]).header.time,
            intervalMs: 1000,
            checkpoint: cp0.checkpoint,
        })
        const forged = resealFrom(bytes, 8, content)
        expect(publicly(forged).failure).toMatchObject({ index: 8, code: "checkpoint-key" })
    })
})

describe("a signed checkpoint dropped on the device", () => {
    test("breaks the certified keys: verified up to the checkpoint before the drop, the reason reported, the chain still valid under K_0", () => {
        const { exported, key0 } = droppedCheckpointChain(crypto)
        for (const k of [undefined, key0]) {
            const report = publicly(exported, k, publicKeyOf(TEST_SEED0))
            expect(report.failure).toBeUndefined()
            expect(report.summary.signed).toMatchObject({
                verifiedTo: 2,
                checkpoints: 1,
                checkpointsSeen: 2,
                unsignedFrom: 3,
                unsignedTo: 7,
            })
            expect(report.summary.signed.broken).toMatch(/signed checkpoint 1 was among blocks dropped/)
            expect(report.summary.signed.nextPublicKey).toBeUndefined()
        }
    })
})
