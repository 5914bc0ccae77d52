/**
 * The tamper matrix: every way of altering a sealed chain that the verifier must catch, each
 * rejected at the right block with the right reason. The bit-flip sweep uses node:crypto
 * (OpenSSL) for speed; the cross-check against @noble/hashes is in vectors.test.ts.
 */
import { describe, expect, test } from "vitest"
import { copyBytes } from "../../../../src/lib/codec/bytes"
import { decodeBlock } from "../../../../src/lib/ledger/chain"
import { TAG_BYTES } from "../../../../src/lib/codec/format"
import { blockTag, deriveEpochKey } from "../../../../src/lib/ledger/keys"
import { verifyChain } from "../../../../src/lib/ledger/verify"
import { nodeCrypto } from "../../../../tools/lib/crypto"
import { buildChain, DEVICE_ID, OTHER_DEVICE_ID, testKey } from "../../helpers/chains"

const crypto = nodeCrypto
const verify = (
    blocks: Buffer[],
    key0: Buffer | undefined = testKey(),
    deviceId = DEVICE_ID,
    expectedHead?: { seq: number; hash: Buffer }
) => verifyChain(crypto, blocks, { deviceId, key0, expectedHead })

const unkeyed = (blocks: Buffer[]) => verifyChain(crypto, blocks, { deviceId: DEVICE_ID })

function retag(block: Buffer, key: Buffer, link: Buffer, deviceId = DEVICE_ID): Buffer {
    const content = copyBytes(block, 0, block.length - TAG_BYTES)
    return Buffer.concat([content, blockTag(crypto, key, deviceId, content, link)])
}

// The same matrix over a v1 chain and a v2 chain (whose blocks do not store their link: a
// wrong link shows as a wrong tag, and without K_0 only a known head catches altered content).
describe.each([1, 2])("tamper matrix (format v%i)", version => {
    const chain = buildChain(crypto, { formatVersion: version })
    const bytes = chain.blocks.map(b => b.bytes)

    test("the untouched chain verifies", () => {
        const report = verify(bytes)
        expect(report.failure).toBeUndefined()
        expect(report.summary.blocks).toBe(bytes.length)
    })

    test("rejects every single-bit flip of every block at exactly that block", () => {
        const allowed = new Set([
            "malformed",
            "tag",
            "seq",
            "link",
            "no-genesis",
            "device-mismatch",
            "channels",
            "time",
            "unexpected-genesis",
            "missing-blocks",
        ])
        let flips = 0
        for (let i = 0; i < bytes.length; i++) {
            const tagStart = bytes[i].length - TAG_BYTES
            for (let bit = 0; bit < bytes[i].length * 8; bit++) {
                const tampered = bytes.map(b => Buffer.from(b))
                tampered[i][bit >> 3] ^= 1 << (bit & 7)
                const report = verify(tampered)
                expect(report.ok, `block ${i} bit ${bit}`).toBe(false)
                expect(report.failure!.index, `block ${i} bit ${bit}: ${report.failure!.reason}`).toBe(i)
                expect(allowed.has(report.failure!.code), report.failure!.code).toBe(true)
                if (bit >= tagStart * 8) expect(report.failure!.code).toBe("tag")
                flips++
            }
        }
        expect(flips).toBeGreaterThan(version === 1 ? 3000 : 2000)
    })

    test.each([
        ["swapping two adjacent blocks", (b: Buffer[]) => [b[0], b[1], b[3], b[2], ...b.slice(4)], 2, ["missing-blocks", "seq"]],
        ["dropping a middle block", (b: Buffer[]) => [...b.slice(0, 2), ...b.slice(3)], 2, ["missing-blocks"]],
        ["duplicating a block", (b: Buffer[]) => [...b.slice(0, 3), b[2], ...b.slice(3)], 3, ["seq"]],
        ["a second genesis block", (b: Buffer[]) => [...b.slice(0, 2), b[0], ...b.slice(2)], 2, ["unexpected-genesis"]],
        ["starting without the genesis block", (b: Buffer[]) => b.slice(1), 0, ["no-genesis"]],
    ])("rejects %s at the first altered position", (_name, alter, index, codes) => {
        const report = verify(alter(bytes))
        expect(report.ok).toBe(false)
        expect(report.failure!.index).toBe(index)
        expect(codes).toContain(report.failure!.code)
    })

    test("rejects the tail of another device's chain spliced on, at the splice", () => {
        const other = buildChain(crypto, { deviceId: OTHER_DEVICE_ID, formatVersion: version }).blocks.map(b => b.bytes)
        const report = verify([...bytes.slice(0, 3), ...other.slice(3)])
        expect(report.failure).toMatchObject({ index: 3, code: "tag" })
    })

    test("rejects the tail of the same device's chain under another K_0, at the splice", () => {
        const other = buildChain(crypto, { key: testKey(0x22), formatVersion: version }).blocks.map(b => b.bytes)
        const report = verify([...bytes.slice(0, 2), ...other.slice(2)])
        expect(report.failure).toMatchObject({ index: 2, code: "tag" })
    })

    test.each([-1, 1, 2])("rejects a block whose MAC is under the wrong epoch key (K_seq shifted by %i)", offset => {
        const i = 3
        const wrongKey = deriveEpochKey(crypto, testKey(), DEVICE_ID, i + offset)
        const tampered = [...bytes]
        tampered[i] = retag(bytes[i], wrongKey, chain.blocks[i - 1].hash)
        expect(verify(tampered).failure).toMatchObject({ index: i, code: "tag" })
    })

    test("rejects the chain under a wrong K_0 at the genesis block", () => {
        expect(verify(bytes, testKey(0x99)).failure).toMatchObject({ index: 0, code: "tag" })
    })

    test("rejects a chain presented as another device's", () => {
        expect(verify(bytes, testKey(), OTHER_DEVICE_ID).failure).toMatchObject({ index: 0, code: "device-mismatch" })
    })

    test("rejects an empty chain", () => {
        expect(verify([]).failure!.code).toBe("empty")
    })

    test("cannot see tail truncation without a known head, and catches it with one", () => {
        const head = chain.blocks[chain.blocks.length - 1]
        const truncated = bytes.slice(0, -2)
        expect(verify(truncated).ok).toBe(true)
        expect(verify(truncated, testKey(), DEVICE_ID, { seq: head.seq, hash: head.hash }).failure!.code).toBe("truncated")
        expect(verify(bytes, testKey(), DEVICE_ID, { seq: head.seq, hash: head.hash }).ok).toBe(true)
    })

    test("reports a fork when the block at the known head's seq differs", () => {
        const head = chain.blocks[3]
        expect(verify(bytes, testKey(), DEVICE_ID, { seq: head.seq, hash: Buffer.alloc(32, 7) }).failure!.code).toBe("head-mismatch")
    })

    test("without K_0 a flipped tag goes unnoticed, but altered content before the last block breaks the next link (v1) or the known head (v2)", () => {
        const tagFlip = bytes.map(b => Buffer.from(b))
        tagFlip[2][tagFlip[2].length - 1] ^= 1
        const head = chain.blocks[chain.blocks.length - 1]
        if (version === 1) expect(unkeyed(tagFlip).failure).toMatchObject({ index: 3, code: "link" })
        else {
            expect(unkeyed(tagFlip).ok).toBe(true)
            const report = verifyChain(crypto, tagFlip, { deviceId: DEVICE_ID, expectedHead: { seq: head.seq, hash: head.hash } })
            expect(report.failure).toMatchObject({ index: tagFlip.length - 1, code: "head-mismatch" })
        }
        const lastTag = bytes.map(b => Buffer.from(b))
        lastTag[lastTag.length - 1][lastTag[lastTag.length - 1].length - 1] ^= 1
        expect(unkeyed(lastTag).ok).toBe(true)
        expect(unkeyed(lastTag).summary.authenticated).toBe(false)
    })
})

describe("declared drops", () => {
    function droppedChain(withGap: boolean, lastLostHash?: Buffer) {
        const c = buildChain(crypto, { gap: false, dataBlocks: 6 })
        const lost = c.blocks.slice(2, 4)
        const gap = c.ledger.sealGap(
            {
                reason: 1,
                lostReadings: 16,
                lostBlocks: 2,
                firstLostSeq: 2,
                lastLostHash: lastLostHash ?? lost[1].hash,
                from: decodeBlock(lost[0].bytes).header.time,
            },
            { boot: 0, uptimeMs: 60000 }
        )
        const kept = [...c.blocks.slice(0, 2), ...c.blocks.slice(4)].map(b => b.bytes)
        return { all: [...c.blocks, ...gap].map(b => b.bytes), kept: withGap ? [...kept, ...gap.map(b => b.bytes)] : kept }
    }

    test("accepts blocks dropped from a full backlog when a later gap record declares them", () => {
        const report = verify(droppedChain(true).kept)
        expect(report.failure).toBeUndefined()
        expect(report.summary.gaps[0]).toMatchObject({ reason: "backlog-full", lostBlocks: 2, firstLostSeq: 2 })
    })

    test("rejects the same removal without the gap record", () => {
        expect(verify(droppedChain(false).kept).failure).toMatchObject({ index: 2, code: "missing-blocks" })
    })

    test("accepts a gap record for blocks that are present after all (delivered, then dropped)", () => {
        expect(verify(droppedChain(true).all).failure).toBeUndefined()
    })

    test("rejects a gap record that names the wrong last dropped block", () => {
        const { all } = droppedChain(true, Buffer.alloc(32, 1))
        expect(verify(all).failure!.code).toBe("gap")
    })
})
