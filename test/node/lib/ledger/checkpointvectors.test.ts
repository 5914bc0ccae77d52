/**
 * test/vectors/golden-checkpoint.json (written by tools/gen-checkpoint-vectors.ts, an encoder
 * independent of src/lib): node:crypto alone verifies every signature; the shared codec decodes
 * and re-seals every block byte for byte; the shared verifier reaches the vectors' verdicts.
 */
import { createHash, createHmac, createPublicKey, verify } from "node:crypto"
import { readFileSync } from "node:fs"
import { describe, expect, test } from "vitest"
import { RECORD_CHECKPOINT, RECORD_DATA, RECORD_GENESIS } from "../../../../src/lib/codec/format"
import { ReadingsBuilder } from "../../../../src/lib/codec/readings"
import { BlockContent, decodeBlock, encodeContent, sealBlock } from "../../../../src/lib/ledger/chain"
import { signedCheckpointMessage } from "../../../../src/lib/ledger/signedcheckpoint"
import { verifyChain } from "../../../../src/lib/ledger/verify"
import { nodeCrypto } from "../../../../tools/lib/crypto"
import { publicKeyFingerprint, verifyEd25519 } from "../../../../tools/lib/ed25519"

const doc = JSON.parse(readFileSync("test/vectors/golden-checkpoint.json", "utf8"))
const h = (s: string) => Buffer.from(s, "hex")
const deviceId = h(doc.deviceId)
interface Tampered {
    name: string
    blocks: string[]
    withKey0: string
    expect: { index: number; seq: number | null; code: string; verifiedTo: number | null }
}
const tampered: Tampered[] = doc.tampered
const checkpoints = doc.chain.filter((b: { type: string }) => b.type === "checkpoint")

/** node:crypto's verify on a raw key, through its JWK form: no code of ours. */
function nodeVerify(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKey.toString("base64url") }, format: "jwk" })
    return verify(null, message, key, signature)
}

describe("golden signed checkpoints, with node:crypto alone", () => {
    test("the chain holds three signed checkpoints, key indices 0, 1, 2, with and without unix time", () => {
        expect(checkpoints.map((b: { checkpoint: { keyIndex: number } }) => b.checkpoint.keyIndex)).toEqual([0, 1, 2])
        expect(checkpoints.map((b: { time: { unixTime?: number } }) => b.time.unixTime !== undefined)).toEqual([true, false, true])
    })

    test("each signature verifies under the key certified before it, from pk_0; the seeds evolve by HMAC with the sign-evolve label", () => {
        let publicKey = h(doc.publicKey0)
        for (const b of checkpoints) {
            const c = b.checkpoint
            const block = h(b.block)
            // M rebuilt from the block's bytes: label || device id || link || content before the signature.
            const unsigned = block.subarray(0, block.length - 16 - 64)
            const signature = block.subarray(block.length - 16 - 64, block.length - 16)
            expect(unsigned.toString("hex")).toBe(c.unsigned)
            const message = Buffer.concat([Buffer.from("fieldledger/v2/checkpoint"), deviceId, h(b.link), unsigned])
            expect(message.toString("hex")).toBe(c.message)
            expect(nodeVerify(publicKey, message, signature)).toBe(true)
            expect(createHmac("sha256", h(c.seed)).update("fieldledger/v2/sign-evolve").digest("hex")).toBe(c.nextSeed)
            // The next key sits right after the key index varint (one byte here) in the body.
            expect(unsigned.subarray(unsigned.length - 32).toString("hex")).toBe(c.nextPublicKey)
            publicKey = h(c.nextPublicKey)
        }
        expect(publicKey.toString("hex")).toBe(doc.report.nextPublicKey)
    })

    test("every hash is SHA-256(link || block) and links the next block", () => {
        for (let i = 0; i < doc.chain.length; i++) {
            const b = doc.chain[i]
            expect(createHash("sha256").update(h(b.link)).update(h(b.block)).digest("hex")).toBe(b.hash)
            if (i > 0) expect(b.link).toBe(doc.chain[i - 1].hash)
        }
    })

    test("docs/FORMAT.md's example is golden signed checkpoint 0, byte for byte", () => {
        const format = readFileSync("docs/FORMAT.md", "utf8")
        const b = doc.chain[2]
        expect(b.checkpoint.keyIndex).toBe(0)
        expect(h(b.block).length).toBe(128)
        for (const text of [b.block, b.link, b.checkpoint.nextSeed, doc.publicKey0, doc.publicKey0Fingerprint])
            expect(format).toContain(text)
    })

    test("the fingerprint is the first 8 bytes of SHA-256(pk_0)", () => {
        expect(publicKeyFingerprint(h(doc.publicKey0))).toBe(doc.publicKey0Fingerprint)
    })

    test("each tampered case fails node:crypto's check at its checkpoint (or does not parse there) and passes it before", () => {
        for (const t of tampered) {
            let publicKey = h(doc.publicKey0)
            let link = h(doc.chain[0].link)
            for (let i = 0; i <= t.expect.index; i++) {
                const block = h(t.blocks[i])
                if (block[1] === RECORD_CHECKPOINT && t.expect.code !== "malformed") {
                    const unsigned = block.subarray(0, block.length - 80)
                    const ok = nodeVerify(
                        publicKey,
                        Buffer.concat([Buffer.from("fieldledger/v2/checkpoint"), deviceId, link, unsigned]),
                        block.subarray(block.length - 80, block.length - 16)
                    )
                    // A wrong key index is signed correctly: only the index rule catches it.
                    expect(ok, t.name + " at index " + i).toBe(i < t.expect.index || t.expect.code === "checkpoint-key")
                    publicKey = unsigned.subarray(unsigned.length - 32)
                }
                link = createHash("sha256").update(link).update(block).digest()
            }
        }
    })
})

describe("golden signed checkpoints, with the shared code", () => {
    test("the shared codec decodes every block and re-seals it byte for byte under its K_seq", () => {
        for (const b of doc.chain) {
            const d = decodeBlock(h(b.block))
            expect(d.header.seq).toBe(b.seq)
            expect(d.header.time).toEqual(b.time)
            let content: BlockContent
            if (d.header.type === RECORD_GENESIS)
                content = { type: RECORD_GENESIS, time: d.header.time, intervalMs: doc.intervalMs, genesis: d.genesis }
            else if (d.header.type === RECORD_DATA) {
                const readings = new ReadingsBuilder(1, 2)
                for (const v of b.readings) readings.add([v])
                content = { type: RECORD_DATA, time: b.time, intervalMs: doc.intervalMs, readings }
            } else {
                expect(d.checkpoint.keyIndex).toBe(b.checkpoint.keyIndex)
                expect(d.checkpoint.nextPublicKey.toString("hex")).toBe(b.checkpoint.nextPublicKey)
                const head = { seq: b.seq, link: h(b.link), key: h(b.epochKey) }
                const cp = { keyIndex: b.checkpoint.keyIndex, nextPublicKey: h(b.checkpoint.nextPublicKey) }
                const unsigned = encodeContent(head, { type: RECORD_CHECKPOINT, time: b.time, intervalMs: doc.intervalMs, checkpoint: cp })
                expect(signedCheckpointMessage(deviceId, head.link, unsigned).toString("hex")).toBe(b.checkpoint.message)
                content = {
                    type: RECORD_CHECKPOINT,
                    time: b.time,
                    intervalMs: doc.intervalMs,
                    checkpoint: { ...cp, signature: h(b.checkpoint.signature) },
                }
            }
            const { block } = sealBlock(nodeCrypto, deviceId, { seq: b.seq, link: h(b.link), key: h(b.epochKey) }, content)
            expect(block.bytes.toString("hex")).toBe(b.block)
            expect(block.hash.toString("hex")).toBe(b.hash)
        }
    })

    test.each([
        ["without K_0", undefined],
        ["with K_0", doc.key0],
    ])("the shared verifier agrees on the whole chain %s", (_, key0) => {
        const report = verifyChain(
            nodeCrypto,
            doc.chain.map((b: { block: string }) => h(b.block)),
            {
                deviceId,
                key0: key0 && h(key0),
                publicKey0: h(doc.publicKey0),
                verifySignature: verifyEd25519,
            }
        )
        expect(report.failure).toBeUndefined()
        expect(report.summary.signed).toMatchObject(doc.report)
    })

    test.each(tampered.map(t => [t.name, t] as [string, Tampered]))("tampered %s: the shared verifier agrees", (_, t) => {
        const blocks = t.blocks.map(h)
        const publicly = verifyChain(nodeCrypto, blocks, { deviceId, publicKey0: h(doc.publicKey0), verifySignature: verifyEd25519 })
        expect(publicly.failure).toMatchObject({ index: t.expect.index, code: t.expect.code })
        expect(publicly.failure.seq ?? null).toBe(t.expect.seq)
        expect(publicly.summary.signed.verifiedTo ?? null).toBe(t.expect.verifiedTo)
        const keyed = verifyChain(nodeCrypto, blocks, { deviceId, key0: h(doc.key0) })
        expect(keyed.ok ? "ok" : keyed.failure.code).toBe(t.withKey0)
    })
})
