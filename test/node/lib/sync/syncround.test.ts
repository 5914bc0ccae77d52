/**
 * The device's sync round (src/lib/sync/syncround.ts) against scripted gateway replies: what it sends,
 * and that it forgets blocks only on a correctly signed ack that names its own chain.
 * (The round against the real gateway: test/node/gateway/ and the end-to-end suite.)
 */
import { describe, expect, test } from "vitest"
import { backoffDelayMs } from "../../../../src/lib/sync/backoff"
import { toHex } from "../../../../src/lib/codec/bytes"
import { ChainStore } from "../../../../src/lib/store/chainstore"
import { parseHttpReply } from "../../../../src/lib/sync/httpreply"
import { loadAckKey, saveAckKey, syncRound, SyncReply } from "../../../../src/lib/sync/syncround"
import { Ack, ackTag, decodeBatch, deriveAckKey, encodeBatch, MAX_BATCH_BYTES } from "../../../../src/lib/sync/syncwire"
import { WallClock } from "../../../../src/lib/sync/wallclock"
import { nodeCrypto as crypto } from "../../../../tools/lib/crypto"
import { MemoryStore } from "../../helpers/memorystore"
import { openTestChain, startTestBacklog } from "../../helpers/openchain"

const deviceId = Buffer.from("12abdd2289421234", "hex")
const key0 = () => Buffer.alloc(32, 0x33)
const ackKey = deriveAckKey(crypto, key0(), deviceId)

/** A MemoryStore whose every access waits a timer tick, as flash does. */
class SlowStore extends MemoryStore {
    async get(key: string) {
        await new Promise(r => setTimeout(r, 1))
        return super.get(key)
    }
    async set(key: string, value: Buffer) {
        await new Promise(r => setTimeout(r, 1))
        return super.set(key, value)
    }
}

async function deviceWithBacklog(readings: number, slow = false) {
    const kv = slow ? new SlowStore() : new MemoryStore()
    const store = new ChainStore(kv, crypto, deviceId, 30)
    const opened = await openTestChain({
        store,
        crypto,
        deviceId,
        channels: [{ name: "t", unit: "degC", exponent: -2 }],
        ledger: { intervalMs: 1000, maxReadingsPerBlock: 5 },
        checkpointEvery: 100,
        key: key0,
    })
    const { backlog, take } = startTestBacklog(store, opened, { maxBacklogBlocks: 20, checkpointEvery: 100 })
    for (let i = 0; i < readings; i++) await take([i], 1000 + i * 1000)
    return { kv, store, backlog, ledger: opened.ledger }
}

/** A reply as the gateway signs it, for the nonce of the batch it answers. */
function signedReply(body: Buffer, ack: Ack, status = 200, extra: object = {}, key = ackKey): SyncReply {
    const { nonce } = decodeBatch(body)
    const tag = ackTag(crypto, key, deviceId, nonce, ack)
    return { status, body: JSON.stringify({ ...extra, ack: ack.ack, head: toHex(ack.head), time: ack.time, tag: toHex(tag) }) }
}

function round(d: Awaited<ReturnType<typeof deviceWithBacklog>>, reply: (body: Buffer) => SyncReply | Promise<SyncReply>) {
    const sent: Buffer[] = []
    let n = 0
    return {
        sent,
        run: () =>
            syncRound({
                store: d.store,
                crypto,
                deviceId,
                ackKey,
                nonce: () => Buffer.from([1, 2, 3, 4, 5, 6, 7, n++]),
                acknowledge: d.backlog.acknowledge,
                post: async body => {
                    sent.push(body)
                    return await reply(body)
                },
            }),
    }
}

describe("sync round", () => {
    test("posts the whole backlog oldest first and forgets it on a signed ack of its head", async () => {
        const d = await deviceWithBacklog(23)
        const head = d.store.currentHead()
        const r = round(d, body => signedReply(body, { ack: head.seq - 1, head: head.link, time: 1764000000 }))
        const result = await r.run()
        const batch = decodeBatch(r.sent[0])
        expect(batch.blocks.length).toBe(head.seq)
        expect(batch.blocks.map(b => b[3])).toEqual([...Array(head.seq).keys()])
        expect(result.outcome).toBe("synced")
        expect(result.ack!.time).toBe(1764000000)
        expect(d.store.backlogBlocks()).toBe(0)
        expect(
            (
                await round(d, () => {
                    throw new Error("must not post")
                }).run()
            ).outcome
        ).toBe("idle")
    })

    test.each([
        [
            "an unsigned reply",
            (b: Buffer, h: { seq: number; link: Buffer }) => ({
                status: 200,
                body: JSON.stringify({ ack: h.seq - 1, head: toHex(h.link), time: 1 }),
            }),
        ],
        [
            "a reply signed under another key",
            (b: Buffer, h: { seq: number; link: Buffer }) =>
                signedReply(b, { ack: h.seq - 1, head: h.link, time: 1 }, 200, {}, Buffer.alloc(32, 9)),
        ],
        [
            "a reply whose tag covers another nonce",
            (b: Buffer, h: { seq: number; link: Buffer }) =>
                signedReply(encodeBatch(Buffer.alloc(8), [Buffer.alloc(40)]), { ack: h.seq - 1, head: h.link, time: 1 }),
        ],
        ["a reply that is not JSON", () => ({ status: 200, body: "<html>proxy</html>" })],
        [
            "an ack with a changed seq but the old tag",
            (b: Buffer, h: { seq: number; link: Buffer }) => {
                const good = JSON.parse(signedReply(b, { ack: h.seq - 2, head: h.link, time: 1 }).body)
                return { status: 200, body: JSON.stringify({ ...good, ack: h.seq - 1 }) }
            },
        ],
    ])("forgets nothing on %s", async (_name, reply) => {
        const d = await deviceWithBacklog(12)
        const before = d.store.backlogBlocks()
        const head = d.store.currentHead()
        const result = await round(d, body => reply(body, head)).run()
        expect(result.outcome).toBe("failed")
        expect(d.store.backlogBlocks()).toBe(before)
    })

    test("refuses a signed ack that names another block at its seq (a fork at the gateway)", async () => {
        const d = await deviceWithBacklog(12)
        const result = await round(d, body => signedReply(body, { ack: 1, head: Buffer.alloc(32, 7), time: 1 })).run()
        expect(result.outcome).toBe("rejected")
        expect(result.error).toMatch(/fork/)
        expect(d.store.currentHead().oldestSeq).toBe(0)
    })

    test("refuses a signed ack beyond what the device has sealed", async () => {
        const d = await deviceWithBacklog(12)
        const head = d.store.currentHead()
        const result = await round(d, body => signedReply(body, { ack: head.seq + 5, head: head.link, time: 1 })).run()
        expect(result.outcome).toBe("rejected")
        expect(d.store.backlogBlocks()).toBe(head.seq)
    })

    test("on a signed error reply, forgets what the ack covers and reports the error", async () => {
        const d = await deviceWithBacklog(12)
        const genesisHash = (await d.store.blockHash(0))!
        const result = await round(d, body =>
            signedReply(body, { ack: 0, head: genesisHash, time: 5 }, 422, { error: "tag", seq: 1 })
        ).run()
        expect(result.outcome).toBe("rejected")
        expect(result.error).toBe("tag")
        expect(d.store.currentHead().oldestSeq).toBe(1)
    })

    test("a network failure changes nothing and asks for a retry", async () => {
        const d = await deviceWithBacklog(8)
        const before = d.store.backlogBlocks()
        const result = await round(d, () => {
            throw new Error("connect ECONNREFUSED")
        }).run()
        expect(result).toMatchObject({ outcome: "failed", more: true })
        expect(result.error).toMatch(/ECONNREFUSED/)
        expect(d.store.backlogBlocks()).toBe(before)
    })

    test("an acknowledgement during a drop of the oldest blocks is not undone by the drop", async () => {
        // Flash that really waits. The backlog is at its budget (20); the next block makes it
        // drop the oldest 5, reading them first. A gateway acknowledges everything meanwhile.
        // Without the backlog's lock the drop would write a head built before the
        // acknowledgement: the acknowledged blocks back in the backlog, a loss nobody has.
        const d = await deviceWithBacklog(95, true)
        const acked = d.store.currentHead().seq - 1
        const sealed = [...d.ledger.append([1], { boot: 0, uptimeMs: 500000 }), d.ledger.sealOpen()!]
        const submitting = d.backlog.submit(sealed)
        await new Promise(r => setTimeout(r, 5))
        await Promise.all([submitting, d.backlog.acknowledge(acked)])
        const head = d.store.currentHead()
        expect(head.loss).toBeUndefined()
        expect(head.oldestSeq).toBeGreaterThan(acked)
        const reloaded = new ChainStore(d.kv, crypto, deviceId, 30)
        await reloaded.load()
        expect(reloaded.currentHead().oldestSeq).toBe(head.oldestSeq)
    })
})

describe("ack key", () => {
    test("is stored and read back, and a store that drops the write is an error", async () => {
        const kv = new MemoryStore()
        await saveAckKey(kv, ackKey)
        expect((await loadAckKey(kv))!.equals(ackKey)).toBe(true)
        const full = new MemoryStore(10)
        await expect(saveAckKey(full, ackKey)).rejects.toThrow(/fl_ackkey.*full/)
    })
})

describe("batch size", () => {
    test("a full ESP32 backlog (66 blocks of 200 bytes) fits one batch", () => {
        const blocks = Array.from({ length: 66 }, () => Buffer.alloc(200, 1))
        expect(encodeBatch(Buffer.alloc(8), blocks).length).toBeLessThanOrEqual(MAX_BATCH_BYTES)
    })
})

describe("backoff", () => {
    test("doubles from the base up to the cap, with up to half of each delay random", () => {
        const o = { baseMs: 1000, maxMs: 30000 }
        expect([1, 2, 3, 4, 5, 6, 50].map(f => backoffDelayMs(o, f, 0))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000])
        expect([1, 2, 6].map(f => backoffDelayMs(o, f, 0.999999))).toEqual([999, 1999, 29999])
        expect(() => backoffDelayMs({ baseMs: 0, maxMs: 1 }, 1, 0)).toThrow(RangeError)
    })
})

describe("HTTP reply parsing", () => {
    const raw = (s: string) => Buffer.from(s, "utf8")
    test("reads status and a Content-Length body", () => {
        expect(
            parseHttpReply(raw('HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n{"a":1}\r\n'))
        ).toEqual({ status: 409, body: '{"a":1}\r\n' })
        expect(parseHttpReply(raw("HTTP/1.0 200 OK\r\n\r\nto the close"))).toEqual({ status: 200, body: "to the close" })
        // Header names in any case, values with spaces and tabs around them (HTTP's optional whitespace).
        expect(parseHttpReply(raw("HTTP/1.1 200 OK\r\nContent-Length:\t 2 \r\nTransfer-Encoding:  Identity\r\n\r\nokEXTRA"))).toEqual({
            status: 200,
            body: "ok",
        })
        expect(() => parseHttpReply(raw("HTTP/1.1 200 OK\r\n TRANSFER-ENCODING : chunked\r\n\r\n2\r\nok"))).toThrow()
    })
    test.each([
        ["no end of headers", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"],
        ["not HTTP", "SSH-2.0-OpenSSH\r\n\r\n"],
        ["a bad status", "HTTP/1.1 abc\r\n\r\n"],
        ["a truncated body", "HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{}"],
        ["chunked encoding", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"],
    ])("rejects %s", (_name, text) => {
        expect(() => parseHttpReply(raw(text))).toThrow()
    })
})

describe("wall clock", () => {
    test("carries the gateway's time forward on uptime, and knows nothing before the first ack", () => {
        const c = new WallClock()
        expect(c.unixSecondsAt(5000)).toBeUndefined()
        c.set(1764000000, 10000)
        expect(c.unixSecondsAt(10000)).toBe(1764000000)
        expect(c.unixSecondsAt(71500)).toBe(1764000061)
    })
})
