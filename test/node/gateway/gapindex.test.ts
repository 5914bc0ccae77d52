/**
 * The gap index: gap records served without decoding a chain (GET /v1/devices/:id/gaps and the
 * dashboard's fleet), filled at ingest, backfilled by the migration for older databases, and
 * gone with their chain on a key succession.
 */
import Database from "better-sqlite3"
import { join } from "node:path"
import { afterEach, describe, expect, test, vi } from "vitest"
import { decodeBlock, newChainHead } from "../../../src/lib/ledger/chain"
import { Ledger } from "../../../src/lib/ledger/ledger"
import { createGapIndex } from "../../../tools/gateway/gapindex"
import { summarizeBlock } from "../../../tools/gateway/ingest"
import { AGGREGATE_EVENTS, migrateDatabase, SqliteStore, MIGRATIONS } from "../../../tools/gateway/store"
import { succeed } from "../../../tools/gateway/succession"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, CHANNELS, DEVICE_ID, testKey } from "../helpers/chains"
import { batch, droppedChain, gatewayPerTest, get, ID, NOW, post } from "./helpers"

const chain = buildChain(nodeCrypto, { dataBlocks: 3 })
/** Blocks 2..3 dropped, declared by a backlog-full record sealed after seq 6. */
const dropped = droppedChain({ dataBlocks: 6, firstLost: 2, lost: 2 })
const droppedSent = [...dropped.all.slice(0, 2), ...dropped.all.slice(4), dropped.gap]

const POWER_LOSS = {
    seq: chain.blocks.length - 1,
    reason: "power-loss",
    lostReadings: 3,
    lostBlocks: 0,
    firstLostSeq: 0,
    from: { boot: 0, uptimeMs: 99000 },
    time: { boot: 1, uptimeMs: 10 },
}

const gw = gatewayPerTest()
afterEach(() => {
    vi.restoreAllMocks()
})

describe("gap records", () => {
    test("GET /v1/devices/:id/gaps lists them as their blocks declare them", async () => {
        expect((await get(gw, "/v1/devices/" + ID + "/gaps")).body).toEqual({ deviceId: ID, gaps: [] })
        await post(gw, batch(chain.blocks))
        expect((await get(gw, "/v1/devices/" + ID + "/gaps")).body).toEqual({ deviceId: ID, gaps: [POWER_LOSS] })
    })

    test("a record that drops blocks has its first dropped seq and the loss's start", async () => {
        expect((await post(gw, batch(droppedSent))).status).toBe(200)
        const g = decodeBlock(dropped.gap.bytes)
        expect((await get(gw, "/v1/devices/" + ID + "/gaps")).body.gaps).toEqual([
            {
                seq: dropped.gap.seq,
                reason: "backlog-full",
                lostReadings: g.gap.lostReadings,
                lostBlocks: 2,
                firstLostSeq: 2,
                from: g.gap.from,
                time: g.header.time,
            },
        ])
    })

    test("the fleet view and the device's gap route read no chain, however often the head moves", async () => {
        await post(gw, batch(chain.blocks.slice(0, 3)))
        const blockRows = vi.spyOn(gw.store, "blocks")
        for (const upTo of [chain.blocks.length - 1, chain.blocks.length]) {
            await post(gw, batch(chain.blocks.slice(0, upTo)))
            const fleet = (await get(gw, "/dashboard/api/fleet")).body
            expect(fleet.devices[0].gapReasons).toEqual(
                upTo === chain.blocks.length ? [{ reason: "power-loss", records: 1, lostReadings: 3 }] : undefined
            )
            expect((await get(gw, "/dashboard/api/devices/" + ID + "/gaps")).body.gaps).toHaveLength(upTo === chain.blocks.length ? 1 : 0)
        }
        expect(blockRows).not.toHaveBeenCalled()
    })

    test("a key succession takes the closed chain's gap records with it", async () => {
        await post(gw, batch(chain.blocks))
        const key = testKey(0x77)
        const ledger = new Ledger(
            nodeCrypto,
            DEVICE_ID,
            CHANNELS,
            newChainHead(Buffer.from(key), chain.blocks[chain.blocks.length - 1].hash),
            { intervalMs: 1000 }
        )
        const genesis = ledger.sealGenesis({ boot: 2, uptimeMs: 0 }, "test/2", "sim")
        await succeed(gw.service, ID, { key0: key.toString("hex"), genesis: genesis.bytes.toString("hex") }, NOW)
        expect((await get(gw, "/v1/devices/" + ID + "/gaps")).body.gaps).toEqual([])
        expect(gw.store.db.prepare("SELECT count(*) FROM gaps").pluck().get()).toBe(0)
    })
})

describe("migrations", () => {
    test("a database from before the gap index and event aggregation gets both, its gap records indexed", async () => {
        // A database at the schema before both steps, with a chain and an event stored the old way.
        const path = join(gw.dir, "old.db")
        const db = new Database(path)
        const before = Math.min(MIGRATIONS.indexOf(AGGREGATE_EVENTS), MIGRATIONS.indexOf(createGapIndex))
        migrateDatabase(db, before)
        db.prepare(
            "INSERT INTO devices (id, label, key0_sealed, registered_at, head_seq, block_count, gap_records) VALUES (?, 'old', x'00', ?, ?, ?, 1)"
        ).run(ID, NOW, droppedSent.length - 1, droppedSent.length)
        const insert = db.prepare(`INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        for (const b of droppedSent) {
            const s = summarizeBlock(decodeBlock(b.bytes), b.bytes, b.hash)
            insert.run(
                ID,
                s.seq,
                s.type,
                s.boot,
                s.uptimeMs,
                s.unixTime,
                s.readingCount,
                s.lostReadings,
                s.lostBlocks,
                s.hash,
                s.bytes,
                NOW
            )
        }
        db.prepare(
            "INSERT INTO events (device_id, time, kind, seq, message, block, block_hash) VALUES (?, ?, 'fork', 2, 'old fork', x'01', x'02')"
        ).run(ID, NOW - 5000)
        db.close()

        const store = new SqliteStore(path)
        try {
            expect(store.db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length)
            expect(await store.gaps(ID)).toMatchObject([{ seq: dropped.gap.seq, reason: 1, firstLostSeq: 2, lostBlocks: 2 }])
            expect(await store.events(ID)).toMatchObject([{ kind: "fork", count: 1, time: NOW - 5000, lastTime: NOW - 5000 }])
        } finally {
            await store.close()
        }
    })
})
