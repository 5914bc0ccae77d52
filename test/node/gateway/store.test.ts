/**
 * The store interface (tools/gateway/store.ts), one suite run unchanged against both
 * implementations: SQLite on a temporary file and PostgreSQL on the run's private cluster.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, beforeEach, describe, expect, test } from "vitest"
import { decodeBlock, SealedBlock } from "../../../src/lib/ledger/chain"
import { RECORD_GAP } from "../../../src/lib/codec/format"
import { summarizeBlock } from "../../../tools/gateway/ingest"
import { PgStore, PG_MIGRATIONS } from "../../../tools/gateway/pgstore"
import { GatewayStore, MAX_FLOOD_EVENTS_PER_DEVICE, NewBlock, SqliteStore } from "../../../tools/gateway/store"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain } from "../helpers/chains"
import { buildSignedChain } from "../helpers/signedchains"
import { testPgDatabase } from "../helpers/pg"
import { droppedChain, removeDir } from "./helpers"

const ID = "12abdd2289421234"
const OTHER = "0badc0ffee000001"
const SEALED = Buffer.alloc(60, 0xa5)
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5)

function rows(blocks: SealedBlock[]): NewBlock[] {
    return blocks.map(b => summarizeBlock(decodeBlock(b.bytes), b.bytes, b.hash))
}

interface Backend {
    name: string
    /** A fresh, empty store. */
    open(): Promise<GatewayStore>
    /** A second handle on the same database, as another gateway process would hold. */
    second(first: GatewayStore): Promise<GatewayStore>
    cleanup(): Promise<void>
}

const sqlite = (): Backend => {
    let dir: string | undefined
    return {
        name: "sqlite",
        async open() {
            dir = mkdtempSync(join(tmpdir(), "fl-store-"))
            return new SqliteStore(join(dir, "gateway.db"))
        },
        // One process, one connection: its write queue is what serializes.
        second: async first => first,
        async cleanup() {
            if (dir) removeDir(dir)
        },
    }
}

const postgres = (): Backend => {
    let url: string | undefined
    let n = 0
    return {
        name: "postgres",
        async open() {
            url = await testPgDatabase("store" + n++)
            return PgStore.open(url)
        },
        second: async () => PgStore.open(url!),
        async cleanup() {},
    }
}

describe.each([
    { name: "sqlite", make: sqlite },
    { name: "postgres", make: postgres },
])("gateway store ($name)", ({ make }) => {
    const backend = make()
    let store: GatewayStore
    const others: GatewayStore[] = []
    beforeEach(async () => {
        store = await backend.open()
        expect(await store.insertDevice(ID, "test device", SEALED, NOW)).toBe(true)
    })
    afterEach(async () => {
        for (const o of others.splice(0)) if (o !== store) await o.close()
        await store.close()
        await backend.cleanup()
    })
    afterAll(async () => backend.cleanup())

    test("registers a device once; reads it back with empty totals", async () => {
        expect(await store.insertDevice(ID, "again", Buffer.alloc(60), NOW + 1)).toBe(false)
        expect(await store.insertDevice(OTHER, null, SEALED, NOW)).toBe(true)
        const d = await store.device(ID)
        expect(d).toMatchObject({ id: ID, label: "test device", registeredAt: NOW, lastSeen: null, headSeq: -1, headHash: null })
        expect(d).toMatchObject({ blockCount: 0, readings: 0, gapRecords: 0, events: 0, reportedBacklog: null })
        expect(d!.key0Sealed.equals(SEALED)).toBe(true)
        expect((await store.devices()).map(x => x.id)).toEqual([OTHER, ID])
        expect(await store.deviceCount()).toBe(2)
        expect(await store.device("ffffffffffffffff")).toBeUndefined()
    })

    test("a batch stores its blocks, moves the head and totals, and every read finds them", async () => {
        const chain = buildChain(nodeCrypto, { dataBlocks: 4 })
        const blocks = rows(chain.blocks)
        await store.commitBatch({ deviceId: ID, now: NOW, blocks, events: [], seen: { backlog: 3 } })
        const head = blocks[blocks.length - 1]
        const d = (await store.device(ID))!
        expect(d).toMatchObject({ headSeq: head.seq, blockCount: blocks.length, lastSeen: NOW, reportedBacklog: 3 })
        expect(d.readings).toBe(blocks.reduce((n, b) => n + b.readingCount, 0))
        expect(d.gapRecords).toBe(blocks.filter(b => b.type === RECORD_GAP).length)
        expect(d.headHash!.equals(head.hash)).toBe(true)
        expect((await store.hashAt(ID, 2))!.equals(blocks[2].hash)).toBe(true)
        expect(await store.hashAt(ID, 99)).toBeUndefined()
        const at = (await store.blockAt(ID, 1))!
        expect(at).toMatchObject({ seq: 1, type: blocks[1].type, readingCount: blocks[1].readingCount, receivedAt: NOW })
        expect(at.bytes!.equals(chain.blocks[1].bytes)).toBe(true)
        const found = await store.blocksAt(ID, [0, 3, 77])
        expect([...found.keys()].sort()).toEqual([0, 3])
        expect(found.get(3)!.bytes.equals(chain.blocks[3].bytes)).toBe(true)
        const page = await store.blocks(ID, { fromSeq: 1, toSeq: 3 })
        expect(page.map(b => b.seq)).toEqual([1, 2, 3])
        expect(page[0].bytes).toBeUndefined()
        expect((await store.blocks(ID, { fromSeq: 1, limit: 2, withBytes: true })).map(b => b.bytes!.length)).toEqual([
            chain.blocks[1].bytes.length,
            chain.blocks[2].bytes.length,
        ])
        expect((await store.blocks(ID)).length).toBe(blocks.length)
        expect(await store.seqAfter(ID, 1, 100, 2)).toBe(3)
        expect(await store.seqAfter(ID, 1, 100, 50)).toBeUndefined()
        expect((await store.recentBlockTimes(ID, 2)).map(r => r.seq)).toEqual([head.seq, head.seq - 1])
        expect(await store.counts()).toEqual({ devices: 1, blocks: blocks.length, events: 0 })
    })

    test("a batch repeating a stored seq is refused whole: nothing of it is written", async () => {
        const blocks = rows(buildChain(nodeCrypto, { dataBlocks: 2, gap: false }).blocks)
        await store.commitBatch({ deviceId: ID, now: NOW, blocks: blocks.slice(0, 2), events: [] })
        const event = { kind: "bad-link", seq: 1, message: "m", block: Buffer.from([1]) }
        await expect(store.commitBatch({ deviceId: ID, now: NOW, blocks: blocks.slice(1), events: [event] })).rejects.toThrow()
        expect(await store.counts()).toEqual({ devices: 1, blocks: 2, events: 0 })
        expect((await store.device(ID))!.headSeq).toBe(1)
    })

    test("the gap index holds each stored gap record with its reason and range", async () => {
        expect(await store.declaredTo(ID)).toBeUndefined()
        const dropped = droppedChain({ firstLost: 2, lost: 2 })
        const kept = [...dropped.all.slice(0, 2), ...dropped.all.slice(4), dropped.gap]
        await store.commitBatch({ deviceId: ID, now: NOW, blocks: rows(kept), events: [] })
        expect(await store.gaps(ID)).toMatchObject([{ seq: dropped.gap.seq, reason: 1, firstLostSeq: 2, lostBlocks: 2 }])
        expect(await store.declaredTo(ID)).toBe(3)
        expect(await store.withDevice(ID, tx => tx.declaredTo())).toBe(3)
        const d = (await store.device(ID))!
        expect(d).toMatchObject({ gapRecords: 1, blocksLost: 2 })
    })

    test("events: one repeated is one row with its count; floodable kinds are trimmed, evidence is not", async () => {
        const fork = { kind: "fork", seq: 3, message: "fork", block: Buffer.from("abcd", "hex") }
        await store.commitBatch({ deviceId: ID, now: NOW, blocks: [], events: [fork] })
        await store.commitBatch({ deviceId: ID, now: NOW + 5, blocks: [], events: [fork] })
        const flood = Array.from({ length: MAX_FLOOD_EVENTS_PER_DEVICE + 5 }, (_, i) => ({
            kind: "bad-tag",
            seq: i,
            message: "bad",
            block: Buffer.from([i & 255, i >> 8]),
        }))
        await store.commitBatch({ deviceId: ID, now: NOW + 10, blocks: [], events: flood })
        const events = await store.events(ID)
        expect(events.length).toBe(MAX_FLOOD_EVENTS_PER_DEVICE + 1)
        expect(events[0]).toMatchObject({ kind: "fork", seq: 3, count: 2, time: NOW, lastTime: NOW + 5, message: "fork" })
        expect(events[0].block!.equals(fork.block)).toBe(true)
        expect((await store.device(ID))!.events).toBe(MAX_FLOOD_EVENTS_PER_DEVICE + 1)
    })

    test("closing a chain moves its blocks away, resets the device under its new key and numbers the chains", async () => {
        const blocks = rows(buildChain(nodeCrypto, { dataBlocks: 2 }).blocks)
        await store.commitBatch({ deviceId: ID, now: NOW, blocks, events: [] })
        const newKey = Buffer.alloc(60, 0x3c)
        const close = async (key0Sealed: Buffer) =>
            store.closeChain({
                previous: (await store.device(ID))!,
                key0Sealed,
                successorLink: Buffer.alloc(32, 1),
                linkMatches: false,
                now: NOW + 1,
                events: chain => [{ kind: "key-succession", seq: chain, message: "chain " + chain, block: null }],
            })
        expect(await close(newKey)).toBe(1)
        const d = (await store.device(ID))!
        expect(d).toMatchObject({ headSeq: -1, headHash: null, blockCount: 0, readings: 0, gapRecords: 0 })
        expect(d.key0Sealed.equals(newKey)).toBe(true)
        expect((await store.counts()).blocks).toBe(0)
        expect(await store.gaps(ID)).toEqual([])
        expect(await close(SEALED)).toBe(2)
        expect((await store.events(ID)).map(e => e.message)).toEqual(["chain 1", "chain 2"])
    })

    test("signing keys: registered, moved by a batch in its transaction, read under the lock, replaced by a succession", async () => {
        const pk0 = Buffer.alloc(32, 0x01)
        const pk1 = Buffer.alloc(32, 0x02)
        expect(await store.signing(ID)).toBeUndefined()
        await store.setSigningKey(ID, pk0, NOW)
        expect(await store.signing(ID)).toEqual({
            publicKey0: pk0,
            registeredAt: NOW,
            state: { keyIndex: 0, publicKey: pk0, signedSeq: -1, dropped: false },
        })
        const signed = buildSignedChain(nodeCrypto, { dataBlocks: 3, signEvery: 3 })
        const after = { keyIndex: 1, publicKey: pk1, signedSeq: 4, dropped: false }
        await store.commitBatch({ deviceId: ID, now: NOW, blocks: rows(signed.blocks), events: [], signing: after })
        expect((await store.signing(ID))!.state).toEqual(after)
        expect(await store.withDevice(ID, tx => tx.signing())).toMatchObject({ state: after })
        expect((await store.checkpointBlocks(ID, 4)).map(b => b.toString("hex"))).toEqual([signed.blocks[4].bytes.toString("hex")])
        expect(await store.checkpointBlocks(ID, 3)).toEqual([])
        const broken = { keyIndex: 3, signedSeq: 4, dropped: true, broken: "why" }
        await store.commitBatch({ deviceId: ID, now: NOW, blocks: [], events: [], signing: broken })
        expect((await store.signing(ID))!.state).toEqual(broken)
        const close = (publicKey0?: Buffer) =>
            store.withDevice(ID, async tx =>
                tx.closeChain({
                    previous: (await tx.device())!,
                    key0Sealed: SEALED,
                    successorLink: Buffer.alloc(32, 1),
                    publicKey0,
                    linkMatches: false,
                    now: NOW + 1,
                    events: () => [],
                })
            )
        await close(pk1)
        expect(await store.signing(ID)).toEqual({
            publicKey0: pk1,
            registeredAt: NOW + 1,
            state: { keyIndex: 0, publicKey: pk1, signedSeq: -1, dropped: false },
        })
        await close(undefined)
        expect(await store.signing(ID)).toBeUndefined()
    })

    test("the first value stored under a meta key stays", async () => {
        expect(await store.metaGet("k")).toBeUndefined()
        expect((await store.metaInit("k", Buffer.from("first"))).toString()).toBe("first")
        expect((await store.metaInit("k", Buffer.from("second"))).toString()).toBe("first")
        expect((await store.metaGet("k"))!.toString()).toBe("first")
    })

    test("work that throws inside withDevice leaves nothing behind", async () => {
        const blocks = rows(buildChain(nodeCrypto, { dataBlocks: 1, gap: false }).blocks)
        await expect(
            store.withDevice(ID, async tx => {
                await tx.commitBatch({ deviceId: ID, now: NOW, blocks, events: [] })
                expect((await tx.device())!.headSeq).toBe(-1)
                throw new Error("changed my mind")
            })
        ).rejects.toThrow("changed my mind")
        expect(await store.counts()).toEqual({ devices: 1, blocks: 0, events: 0 })
        expect(await store.withDevice("ffffffffffffffff", async tx => tx.device())).toBeUndefined()
    })

    test("two handles on one database: work on one device runs one at a time, each seeing the other's commit", async () => {
        const other = await backend.second(store)
        others.push(other)
        const blocks = rows(buildChain(nodeCrypto, { dataBlocks: 3, gap: false }).blocks)
        const order: string[] = []
        let release!: () => void
        const held = new Promise<void>(resolve => (release = resolve))
        let entered!: () => void
        const firstIn = new Promise<void>(resolve => (entered = resolve))
        const first = store.withDevice(ID, async tx => {
            order.push("first in, head " + (await tx.device())!.headSeq)
            entered()
            await held
            await tx.commitBatch({ deviceId: ID, now: NOW, blocks: blocks.slice(0, 2), events: [] })
            order.push("first out")
        })
        await firstIn
        const second = other.withDevice(ID, async tx => {
            order.push("second in, head " + (await tx.device())!.headSeq)
            await tx.commitBatch({ deviceId: ID, now: NOW, blocks: blocks.slice(2), events: [] })
        })
        // The second waits on the first's lock whatever the time it is given.
        await new Promise(resolve => setTimeout(resolve, 50))
        release()
        await Promise.all([first, second])
        expect(order).toEqual(["first in, head -1", "first out", "second in, head 1"])
        expect((await store.device(ID))!.headSeq).toBe(blocks.length - 1)
    })
})

describe("PostgreSQL schema", () => {
    test("is migrated once to the newest version, also by gateways opening it together", async () => {
        const url = await testPgDatabase("schema")
        const stores = await Promise.all([PgStore.open(url), PgStore.open(url), PgStore.open(url)])
        try {
            const r = await stores[0].pool.query("SELECT version FROM schema_migrations ORDER BY version")
            expect(r.rows.map(x => x.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1))
            const sync = await stores[0].pool.query("SHOW synchronous_commit")
            expect(sync.rows[0].synchronous_commit).toBe("on")
        } finally {
            for (const s of stores) await s.close()
        }
    })
})
