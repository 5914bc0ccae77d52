/** POST /v1/devices/:id/blocks: verification, the signed ack, and every way a batch is refused. */
import { decodeBlock, sealBlock } from "../../../src/lib/ledger/chain"
import { deriveEpochKey } from "../../../src/lib/ledger/keys"
import { ReadingsBuilder } from "../../../src/lib/codec/readings"
import { MAX_FLOOD_EVENTS_PER_DEVICE } from "../../../tools/gateway/store"
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { copyBytes } from "../../../src/lib/codec/bytes"
import { deriveAckKey, MAX_BATCH_BYTES, readSignedAck } from "../../../src/lib/sync/syncwire"
import { RECORD_DATA, TAG_BYTES } from "../../../src/lib/codec/format"
import { verifyChain } from "../../../src/lib/ledger/verify"
import { parseExport } from "../../../tools/lib/exportfile"
import { nobleCrypto, nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, DEVICE_ID, OTHER_DEVICE_ID, testKey } from "../helpers/chains"
import {
    batch,
    droppedChain,
    get,
    ID,
    NONCE,
    NOW,
    openGateway,
    post,
    registerTestDevice,
    removeDir,
    snapshot,
    TestGateway,
} from "./helpers"

const chain = buildChain(nodeCrypto, { dataBlocks: 6 })
const blocks = chain.blocks
const ackKey = deriveAckKey(nobleCrypto, testKey(), DEVICE_ID)
const signed = (reply: unknown, nonce = NONCE) => readSignedAck(nobleCrypto, ackKey, DEVICE_ID, nonce, reply)

let gw: TestGateway
beforeEach(async () => {
    gw = await openGateway()
    await registerTestDevice(gw)
})
afterEach(async () => {
    await gw.close()
    removeDir(gw.dir)
})

describe("ingest", () => {
    test("stores a valid chain and answers with an ack signed under K_ack with the batch's nonce", async () => {
        const r = await post(gw, batch(blocks))
        expect(r.status).toBe(200)
        expect(r.body).toMatchObject({ ack: blocks.length - 1, stored: blocks.length, duplicates: 0, time: Math.floor(NOW / 1000) })
        expect(r.body.head).toBe(blocks[blocks.length - 1].hash.toString("hex"))
        expect(signed(r.body)).toMatchObject({ ack: blocks.length - 1 })
        expect(signed(r.body, Buffer.alloc(8))).toBeUndefined()
        expect(r.bytes).toBeLessThan(300)
        expect((await gw.store.counts()).blocks).toBe(blocks.length)
    })

    test("takes a chain over several batches", async () => {
        expect((await post(gw, batch(blocks.slice(0, 3)))).body.ack).toBe(2)
        const r = await post(gw, batch(blocks.slice(3)))
        expect(r.body).toMatchObject({ ack: blocks.length - 1, stored: blocks.length - 3 })
    })

    test("acknowledges a re-delivered batch again and stores it once", async () => {
        await post(gw, batch(blocks.slice(0, 4)))
        const before = snapshot(gw)
        const again = await post(gw, batch(blocks.slice(0, 4)))
        expect(again.status).toBe(200)
        expect(again.body).toMatchObject({ ack: 3, stored: 0, duplicates: 4 })
        expect(signed(again.body)).toBeDefined()
        expect(snapshot(gw).blocks).toEqual(before.blocks)
        const overlap = await post(gw, batch(blocks.slice(2)))
        expect(overlap.body).toMatchObject({ ack: blocks.length - 1, stored: blocks.length - 4, duplicates: 2 })
    })

    test("the reply before anything is stored acks -1 with a zero head", async () => {
        const r = await post(gw, batch([blocks[1]]))
        expect(r.status).toBe(409)
        expect(r.body).toMatchObject({ error: "missing-blocks", expected: 0, ack: -1, head: "0".repeat(64) })
        expect(signed(r.body)).toMatchObject({ ack: -1 })
    })

    test("records the backlog the device is left with once it takes the ack, and when it was seen", async () => {
        // The device held 17 blocks, sent its oldest 2 and forgets them on this ack: 15 remain.
        const r = await post(gw, batch(blocks.slice(0, 2)), "/v1/devices/" + ID + "/blocks?backlog=17")
        expect(r.status).toBe(200)
        const d = (await get(gw, "/v1/devices/" + ID)).body
        expect(d).toMatchObject({ reportedBacklog: 15, lastSeen: new Date(NOW).toISOString(), head: { seq: 1 } })
    })

    test("an export of what was stored passes verifyChain, with the stored head", async () => {
        await post(gw, batch(blocks))
        const file = parseExport((await get(gw, "/v1/devices/" + ID + "/export")).text)
        const report = verifyChain(nobleCrypto, file.blocks, { deviceId: file.deviceId, key0: testKey(), expectedHead: file.head })
        expect(report.failure).toBeUndefined()
        expect(file.head!.seq).toBe(blocks.length - 1)
    })

    test("continues a device's chain after a restart (verifier state rebuilt from K_0 and the store)", async () => {
        await post(gw, batch(blocks.slice(0, 3)))
        await gw.close()
        gw = await openGateway(gw.dir)
        const r = await post(gw, batch(blocks.slice(3)))
        expect(r.body).toMatchObject({ ack: blocks.length - 1, stored: blocks.length - 3 })
    })
})

const other = buildChain(nodeCrypto, { dataBlocks: 6, deviceId: OTHER_DEVICE_ID })
/** Same device and key, other readings: every block has a valid tag, the links differ. */
const sibling = buildChain(nodeCrypto, { dataBlocks: 6, perBlock: 7 })
/** A v1 chain, for a block whose version is below the chain's. */
const siblingV1 = buildChain(nodeCrypto, { dataBlocks: 6, perBlock: 7, formatVersion: 1 })
/** Another block 2 after our block 1, tagged under K_2: what only a holder of K_2 can make, a fork. */
const forkAt2 = (() => {
    const readings = new ReadingsBuilder(2)
    readings.add([1, 2])
    const head = { seq: 2, link: blocks[1].hash, key: deriveEpochKey(nodeCrypto, testKey(), DEVICE_ID, 2) }
    return sealBlock(nodeCrypto, DEVICE_ID, head, { type: RECORD_DATA, time: { boot: 0, uptimeMs: 9000 }, intervalMs: 1000, readings })
        .block
})()
const badTag = (b: Buffer) => {
    const copy = Buffer.from(b)
    copy[copy.length - 1] ^= 1
    return copy
}

describe("refused batches", () => {
    const cases: { name: string; prefix?: number; body: () => Buffer; status: number; error: string; extra?: Record<string, unknown> }[] = [
        { name: "truncated", body: () => batch(blocks.slice(0, 2)).subarray(0, 150), status: 400, error: "malformed-batch" },
        { name: "empty", body: () => Buffer.alloc(0), status: 400, error: "malformed-batch" },
        { name: "oversized", body: () => Buffer.concat([batch(blocks), Buffer.alloc(MAX_BATCH_BYTES)]), status: 413, error: "too-large" },
        {
            name: "wrong batch version",
            body: () => Buffer.concat([Buffer.from([2]), batch(blocks).subarray(1)]),
            status: 400,
            error: "malformed-batch",
        },
        { name: "another device's chain", body: () => batch(other.blocks), status: 422, error: "device-mismatch" },
        { name: "another device's block", prefix: 2, body: () => batch([other.blocks[2]]), status: 422, error: "bad-tag" },
        { name: "bad MAC", prefix: 1, body: () => batch([badTag(blocks[1].bytes)]), status: 422, error: "bad-tag", extra: { seq: 1 } },
        { name: "malformed block", prefix: 1, body: () => batch([Buffer.from([1, 1, 0])]), status: 422, error: "malformed-block" },
        // v2 binds the link in the tag: another chain's block 2, validly tagged after its own block 1, fails the tag here.
        {
            name: "bad link (tag valid only after another block 1)",
            prefix: 2,
            body: () => batch([sibling.blocks[2]]),
            status: 422,
            error: "bad-tag",
            extra: { seq: 2 },
        },
        {
            name: "a v1 block after v2 blocks (a chain's version never goes back)",
            prefix: 2,
            body: () => batch([siblingV1.blocks[2]]),
            status: 422,
            error: "version",
            extra: { seq: 2 },
        },
        {
            name: "fork (valid tag at a stored seq)",
            prefix: 4,
            body: () => batch([forkAt2.bytes]),
            status: 409,
            error: "fork",
            extra: { seq: 2 },
        },
        {
            name: "different block at a stored seq, bad tag",
            prefix: 4,
            body: () => batch([badTag(sibling.blocks[2].bytes)]),
            status: 422,
            error: "bad-tag",
        },
        {
            name: "gap without a record",
            prefix: 2,
            body: () => batch([blocks[3], blocks[4]]),
            status: 409,
            error: "missing-blocks",
            extra: { expected: 2, ack: 1 },
        },
    ]
    for (const c of cases)
        test(`${c.name}: ${c.status} ${c.error}, nothing stored`, async () => {
            if (c.prefix) await post(gw, batch(blocks.slice(0, c.prefix)))
            const before = snapshot(gw)
            const r = await post(gw, c.body())
            expect(r.status).toBe(c.status)
            expect(r.body).toMatchObject({ error: c.error, ...(c.extra ?? {}) })
            expect(typeof r.body.message).toBe("string")
            if (c.error !== "malformed-batch" || c.name === "truncated") expect(signed(r.body)).toBeDefined()
            expect(snapshot(gw)).toEqual(before)
            expect(r.bytes).toBeLessThan(1024)
        })

    test("a bad backlog parameter is a 400 that still carries the signed ack", async () => {
        const r = await post(gw, batch(blocks), "/v1/devices/" + ID + "/blocks?backlog=lots")
        expect(r.status).toBe(400)
        expect(r.body.error).toBe("bad-request")
        expect(signed(r.body)).toMatchObject({ ack: -1 })
        expect((await gw.store.counts()).blocks).toBe(0)
    })

    test("a fork and a bad tag are recorded as security events", async () => {
        await post(gw, batch(blocks.slice(0, 4)))
        await post(gw, batch([forkAt2.bytes]))
        await post(gw, batch([badTag(blocks[4].bytes)]))
        await post(gw, batch([badTag(blocks[4].bytes)]))
        const events = (await get(gw, "/v1/devices/" + ID + "/events")).body.events
        expect(events.map((e: any) => [e.kind, e.seq])).toEqual([
            ["fork", 2],
            ["bad-tag", 4],
        ])
        expect(events[0].block).toBe(forkAt2.bytes.toString("hex"))
        expect((await get(gw, "/v1/devices/" + ID)).body.securityEvents).toBe(2)
    })

    test("keeps a device's newest security events only, however many rejected blocks are posted", async () => {
        for (let i = 0; i < MAX_FLOOD_EVENTS_PER_DEVICE + 5; i++)
            await gw.store.commitBatch({
                deviceId: ID,
                now: NOW,
                blocks: [],
                events: [{ kind: "bad-tag", seq: i, message: "m", block: Buffer.from([i & 255, i >> 8]) }],
            })
        const events = await gw.store.events(ID)
        expect(events.length).toBe(MAX_FLOOD_EVENTS_PER_DEVICE)
        expect(events[0].seq).toBe(5)
        expect(events[events.length - 1].seq).toBe(MAX_FLOOD_EVENTS_PER_DEVICE + 4)
    })

    test("a batch that fails part way stores its valid prefix and says where it stopped", async () => {
        const r = await post(gw, batch([...blocks.slice(0, 3), badTag(blocks[3].bytes), blocks[4]]))
        expect(r.status).toBe(422)
        expect(r.body).toMatchObject({ error: "bad-tag", seq: 3, stored: 3, ack: 2, head: blocks[2].hash.toString("hex") })
        expect(signed(r.body)).toMatchObject({ ack: 2 })
        expect((await gw.store.counts()).blocks).toBe(3)
        const resend = await post(gw, batch(blocks.slice(3)))
        expect(resend.body).toMatchObject({ ack: blocks.length - 1, stored: blocks.length - 3 })
    })

    test("unknown device: 404 without an ack", async () => {
        const r = await post(gw, batch(blocks), "/v1/devices/00000000000000ff/blocks")
        expect(r.status).toBe(404)
        expect(r.body).toEqual({ error: "unknown-device", message: expect.any(String) })
    })

    test("a tag of the right length but wrong content never verifies (constant-time path)", async () => {
        const b = blocks[0].bytes
        const forged = Buffer.concat([copyBytes(b, 0, b.length - TAG_BYTES), Buffer.alloc(TAG_BYTES)])
        expect((await post(gw, batch([forged]))).body.error).toBe("bad-tag")
    })
})

describe("declared drops", () => {
    test("accepts a seq jump when a gap record in the same batch declares exactly the skipped range", async () => {
        const { all, gap } = droppedChain({ firstLost: 2, lost: 2 })
        expect((await post(gw, batch(all.slice(0, 2)))).body.ack).toBe(1)
        const kept = [...all.slice(4), gap]
        const r = await post(gw, batch(kept))
        expect(r.status).toBe(200)
        expect(r.body).toMatchObject({ ack: gap.seq, stored: kept.length })
        const d = (await get(gw, "/v1/devices/" + ID)).body
        expect(d).toMatchObject({ gapRecords: 1, blocksLost: 2, readingsLost: 16 })
        const file = parseExport((await get(gw, "/v1/devices/" + ID + "/export")).text)
        expect(verifyChain(nodeCrypto, file.blocks, { deviceId: DEVICE_ID, key0: testKey() }).failure).toBeUndefined()
    })

    test("refuses the jump when the record is in a later batch (the device resends from the expected seq)", async () => {
        const { all, gap } = droppedChain({ firstLost: 2, lost: 2 })
        await post(gw, batch(all.slice(0, 2)))
        const r = await post(gw, batch(all.slice(4)))
        expect(r.body).toMatchObject({ error: "missing-blocks", expected: 2 })
        expect((await post(gw, batch([...all.slice(4), gap]))).status).toBe(200)
    })

    test("stores nothing past a jump when its gap record then fails (a forged record acks nothing)", async () => {
        const { all, gap } = droppedChain({ firstLost: 2, lost: 2 })
        await post(gw, batch(all.slice(0, 2)))
        const before = snapshot(gw)
        const r = await post(gw, batch([...all.slice(0, 2), ...all.slice(4), badTag(gap.bytes)]))
        expect(r.status).toBe(422)
        expect(r.body).toMatchObject({ error: "bad-tag", seq: gap.seq, ack: 1, stored: 0, duplicates: 2 })
        expect(snapshot(gw)).toEqual(before)
    })

    test("refuses a second jump in one batch, so a forged record for it cannot ride on the first jump's genuine record", async () => {
        // The device lost 2..3 and sends 4, 5, 6 and its record (seq 7). On the way block 5 is
        // removed and a record declaring 5..5 dropped (not under the device's key) is appended.
        const { all, gap } = droppedChain({ firstLost: 2, lost: 2 })
        await post(gw, batch(all.slice(0, 2)))
        const other = droppedChain({ firstLost: 5, lost: 1, key: Buffer.alloc(32, 0x99), lastLostHash: all[5].hash })
        const before = snapshot(gw)
        const r = await post(gw, batch([all[4], all[6], gap, other.gap]))
        expect(r.status).toBe(422)
        expect(r.body).toMatchObject({ error: "second-jump", seq: 6, ack: 1, stored: 0 })
        expect(snapshot(gw)).toEqual(before)
    })

    test("refuses a jump over more seqs than one batch may skip, before deriving its keys", async () => {
        const { all } = droppedChain({ firstLost: 2, lost: 2 })
        await post(gw, batch(all.slice(0, 2)))
        const far = Buffer.from(all[4].bytes)
        // Seq 4 -> a varint of 2^20: the decoder takes it; the gateway refuses before any HMAC.
        const bigSeq = Buffer.concat([far.subarray(0, 3), Buffer.from([0x80, 0x80, 0x40]), far.subarray(4)])
        const before = snapshot(gw)
        const r = await post(gw, batch([bigSeq]))
        expect(r.status).toBe(422)
        expect(r.body).toMatchObject({ error: "jump-too-large", ack: 1 })
        expect(snapshot(gw)).toEqual(before)
    })

    test("accepts a drop that overlaps blocks the gateway holds (their ack was lost)", async () => {
        // The gateway holds 0..3; the device dropped 2..5 and sends 6.. with the record.
        const { all, gap } = droppedChain({ firstLost: 2, lost: 4 })
        await post(gw, batch(all.slice(0, 4)))
        const r = await post(gw, batch([...all.slice(6), gap]))
        expect(r.status).toBe(200)
        expect(r.body).toMatchObject({ ack: gap.seq })
        const file = parseExport((await get(gw, "/v1/devices/" + ID + "/export")).text)
        expect(file.blocks.length).toBe(all.length - 2 + 1)
        expect(verifyChain(nodeCrypto, file.blocks, { deviceId: DEVICE_ID, key0: testKey() }).failure).toBeUndefined()
    })

    test("accepts a record declaring blocks the gateway holds when it names the stored last hash", async () => {
        const { all, gap } = droppedChain({ firstLost: 2, lost: 4 })
        await post(gw, batch(all))
        const r = await post(gw, batch([gap]))
        expect(r.status).toBe(200)
    })

    /**
     * The device dropped 2..3 and sealed record A (seq 7) declaring them; its next record (seq 8)
     * declares `second`. Blocks 0..7 go in two batches, then the gateway may restart (the store
     * reopened, the verifier rebuilt from it), then record B comes.
     */
    function recordAfterDrop(second: { firstLost: number; lost: number }) {
        const c = buildChain(nodeCrypto, { gap: false, dataBlocks: 6 })
        const record = (firstLost: number, lost: number, uptimeMs: number) =>
            c.ledger.sealGap(
                {
                    reason: 1,
                    lostReadings: 2 * lost,
                    lostBlocks: lost,
                    firstLostSeq: firstLost,
                    lastLostHash: c.blocks[firstLost + lost - 1].hash,
                    from: decodeBlock(c.blocks[firstLost].bytes).header.time,
                },
                { boot: 0, uptimeMs }
            )[0]
        const a = record(2, 2, 500000)
        const b = record(second.firstLost, second.lost, 501000)
        return { sent: [c.blocks.slice(0, 2), [...c.blocks.slice(4), a]], b }
    }

    for (const restart of [false, true])
        test(
            "refuses a record that declares an already declared range again" + (restart ? ", also after a gateway restart" : ""),
            async () => {
                const { sent, b } = recordAfterDrop({ firstLost: 2, lost: 2 })
                for (const blocks of sent) expect((await post(gw, batch(blocks))).status).toBe(200)
                if (restart) {
                    await gw.close()
                    gw = await openGateway(gw.dir)
                }
                const before = snapshot(gw)
                const r = await post(gw, batch([b]))
                expect(r.status).toBe(422)
                expect(r.body).toMatchObject({ error: "bad-gap", seq: b.seq, ack: b.seq - 1 })
                expect(r.body.message).toContain("already declared")
                expect(snapshot(gw)).toEqual(before)
            }
        )

    test("after a restart still accepts a record that widens the declared range (2..3, then 2..4)", async () => {
        const { sent, b } = recordAfterDrop({ firstLost: 2, lost: 3 })
        for (const blocks of sent) await post(gw, batch(blocks))
        await gw.close()
        gw = await openGateway(gw.dir)
        expect((await post(gw, batch([b]))).body).toMatchObject({ ack: b.seq, stored: 1 })
    })

    test("refuses a record declaring held blocks with another last hash", async () => {
        const { all, gap } = droppedChain({ firstLost: 2, lost: 4, lastLostHash: Buffer.alloc(32, 7) })
        await post(gw, batch(all))
        const before = snapshot(gw)
        const r = await post(gw, batch([gap]))
        expect(r.status).toBe(422)
        expect(r.body).toMatchObject({ error: "bad-gap", seq: gap.seq })
        expect(snapshot(gw)).toEqual(before)
    })
})
