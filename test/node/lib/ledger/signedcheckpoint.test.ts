/** The signed checkpoint record (v2 type 3): its body, its message M, and the decoder's rules. */
import { describe, expect, test } from "vitest"
import { copyBytes } from "../../../../src/lib/codec/bytes"
import { FLAG_MISSING_VALUES, FLAG_UNIX_TIME, RECORD_CHECKPOINT, RECORD_NAMES, TAG_BYTES } from "../../../../src/lib/codec/format"
import { decodeBlock, decodeBlockSummary, encodeContent, newChainHead } from "../../../../src/lib/ledger/chain"
import { CHECKPOINT_LABEL, SIGN_EVOLVE_LABEL, signedCheckpointMessage } from "../../../../src/lib/ledger/signedcheckpoint"
import { blockTag } from "../../../../src/lib/ledger/keys"
import { nodeCrypto } from "../../../../tools/lib/crypto"
import { publicKeyOf, verifyEd25519 } from "../../../../tools/lib/ed25519"
import { DEVICE_ID, testKey } from "../../helpers/chains"
import { sealSignedCheckpoint, TEST_SEED0 } from "../../helpers/signedchains"

const PK = Buffer.alloc(32, 0xab)
const SIG = Buffer.alloc(64, 0xcd)

describe("signed checkpoint body", () => {
    const head = { seq: 9, link: Buffer.alloc(32, 0x42), key: testKey() }
    const time = { boot: 0, uptimeMs: 5 }
    const body = (content: Buffer) => content.subarray(content.length - (2 + 32 + 64))

    test("encodeContent writes keyIndex (varint), the next public key and the signature; decodeBlock reads them back", () => {
        const content = encodeContent(head, {
            type: RECORD_CHECKPOINT,
            time,
            intervalMs: 1000,
            checkpoint: { keyIndex: 300, nextPublicKey: PK, signature: SIG },
        })
        expect(body(content).toString("hex")).toBe("ac02" + PK.toString("hex") + SIG.toString("hex"))
        const back = decodeBlock(Buffer.concat([content, Buffer.alloc(16)])).checkpoint
        expect(back.keyIndex).toBe(300)
        expect(back.nextPublicKey.equals(PK)).toBe(true)
        expect(back.signature.equals(SIG)).toBe(true)
    })

    test("without a signature encodeContent stops where the signature would start", () => {
        const signed = encodeContent(head, {
            type: RECORD_CHECKPOINT,
            time,
            intervalMs: 1000,
            checkpoint: { keyIndex: 0, nextPublicKey: PK, signature: SIG },
        })
        const unsigned = encodeContent(head, {
            type: RECORD_CHECKPOINT,
            time,
            intervalMs: 1000,
            checkpoint: { keyIndex: 0, nextPublicKey: PK },
        })
        expect(unsigned.equals(signed.subarray(0, signed.length - 64))).toBe(true)
    })

    test("a content of no known type and no checkpoint is refused", () => {
        expect(() => encodeContent(head, { type: 7, time, intervalMs: 1000 })).toThrow()
    })

    test("a body with a key or signature of the wrong length does not decode as a block", () => {
        const head = newChainHead(testKey())
        const time = { boot: 0, uptimeMs: 0 }
        for (const checkpoint of [
            { keyIndex: 0, nextPublicKey: Buffer.alloc(31), signature: SIG },
            { keyIndex: 0, nextPublicKey: PK, signature: Buffer.alloc(63) },
        ]) {
            const content = encodeContent(head, { type: RECORD_CHECKPOINT, time, intervalMs: 1000, checkpoint })
            expect(() => decodeBlock(Buffer.concat([content, Buffer.alloc(16)]))).toThrow(/./)
        }
    })

    test("labels: distinct from each other and from the tag and evolve labels, none a prefix of another", () => {
        const labels = [CHECKPOINT_LABEL, SIGN_EVOLVE_LABEL, "fieldledger/v2/tag", "fieldledger/v1/tag", "fieldledger/v1/evolve"]
        for (const a of labels) for (const b of labels) if (a !== b) expect(b.startsWith(a)).toBe(false)
        expect(CHECKPOINT_LABEL).toBe("fieldledger/v2/checkpoint")
        expect(SIGN_EVOLVE_LABEL).toBe("fieldledger/v2/sign-evolve")
    })
})

describe("signed checkpoint record", () => {
    const head = { seq: 5, link: Buffer.alloc(32, 0x42), key: testKey() }
    const time = { boot: 2, uptimeMs: 70000, unixTime: 1767225600 }
    const { block } = sealSignedCheckpoint(nodeCrypto, DEVICE_ID, head, time, 1, TEST_SEED0)

    test("decodes: header fields, body, tag; the record name is 'checkpoint'", () => {
        const d = decodeBlock(block.bytes)
        expect(d.header.type).toBe(RECORD_CHECKPOINT)
        expect(RECORD_NAMES[d.header.type]).toBe("checkpoint")
        expect(d.header).toMatchObject({ version: 2, seq: 5, flags: FLAG_UNIX_TIME, readingCount: 0, intervalMs: 1000, time })
        expect(d.checkpoint.keyIndex).toBe(1)
        expect(d.checkpoint.signature.length).toBe(64)
        expect(d.tag.equals(blockTag(nodeCrypto, head.key, DEVICE_ID, d.content, head.link))).toBe(true)
        expect(decodeBlockSummary(block.bytes).header.type).toBe(RECORD_CHECKPOINT)
    })

    test("node:crypto verifies the signature over M = label || deviceId || link || content before the signature", () => {
        const d = decodeBlock(block.bytes)
        const unsigned = copyBytes(d.content, 0, d.content.length - 64)
        const m = signedCheckpointMessage(DEVICE_ID, head.link, unsigned)
        expect(m.subarray(0, 25).toString()).toBe(CHECKPOINT_LABEL)
        expect(m.length).toBe(25 + 8 + 32 + unsigned.length)
        expect(verifyEd25519(publicKeyOf(TEST_SEED0), m, d.checkpoint.signature)).toBe(true)
        // Another link (another history before it) is another message.
        expect(
            verifyEd25519(publicKeyOf(TEST_SEED0), signedCheckpointMessage(DEVICE_ID, Buffer.alloc(32), unsigned), d.checkpoint.signature)
        ).toBe(false)
    })

    test("encodeContent without the signature gives exactly the signed prefix of the content", () => {
        const d = decodeBlock(block.bytes)
        const unsigned = encodeContent(head, {
            type: RECORD_CHECKPOINT,
            time,
            intervalMs: 1000,
            checkpoint: { keyIndex: 1, nextPublicKey: d.checkpoint.nextPublicKey },
        })
        expect(Buffer.concat([unsigned, d.checkpoint.signature]).equals(d.content)).toBe(true)
    })

    test("a v1 signed checkpoint does not decode (the encoder leaves that check to the decoder)", () => {
        const v1 = encodeContent(
            newChainHead(testKey()),
            { type: RECORD_CHECKPOINT, time, intervalMs: 1000, checkpoint: { keyIndex: 0, nextPublicKey: PK, signature: SIG } },
            1
        )
        expect(() => decodeBlock(Buffer.concat([v1, Buffer.alloc(16)]))).toThrow(/unknown record type 3/)
    })

    // Each mutation keeps the block's length plausible; the decoder must refuse it.
    const content = () => Buffer.from(block.bytes.subarray(0, block.bytes.length - TAG_BYTES))
    const tag = () => block.bytes.subarray(block.bytes.length - TAG_BYTES)
    const cases: [string, () => Buffer][] = [
        ["type 3 in a v1 block", () => Buffer.concat([Buffer.from([1]), content().subarray(1), tag()])],
        ["the missing-values flag", () => Buffer.concat([content().fill(FLAG_UNIX_TIME | FLAG_MISSING_VALUES, 2, 3), tag()])],
        ["a trailing byte before the tag", () => Buffer.concat([content(), Buffer.from([0]), tag()])],
        ["a signature one byte short", () => Buffer.concat([content().subarray(0, content().length - 1), tag()])],
    ]
    test.each(cases)("the decoder rejects %s", (_, make) => {
        expect(() => decodeBlock(make())).toThrow(/./)
    })

    test("the decoder rejects a reading count other than 0", () => {
        const { block: b } = sealSignedCheckpoint(nodeCrypto, DEVICE_ID, head, { boot: 2, uptimeMs: 70000 }, 1, TEST_SEED0)
        const bytes = Buffer.from(b.bytes)
        // v2 header without unix time: version, type, flags, seq, boot, uptime (3 bytes), interval (2 bytes), count.
        expect(bytes[10]).toBe(0)
        bytes[10] = 1
        expect(() => decodeBlock(bytes)).toThrow(/reading count/)
    })
})
