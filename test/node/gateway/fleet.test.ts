/**
 * Several gateways, one PostgreSQL database, under faults (the scenario is tools/bench/fleet.ts):
 * 3 gateway processes, devices posting each batch to a random gateway (sometimes to two at
 * once), gateways killed with SIGKILL at random moments of the traffic and restarted. Every
 * device's chain must end up stored exactly once, complete and in order, with its totals, and
 * verify; a fork posted to two gateways at once is refused by both and recorded once.
 */
import { describe, expect, test } from "vitest"
import { runFleetFaultRun } from "../../../tools/bench/fleet"
import { PgStore } from "../../../tools/gateway/pgstore"
import { testPgDatabase } from "../helpers/pg"

describe("a fleet of gateways on one PostgreSQL database", () => {
    test("chains stored exactly once across gateway kills; a fork at two gateways refused by both, recorded once", async () => {
        const dbUrl = await testPgDatabase("fleet")
        const r = await runFleetFaultRun({ dbUrl, gateways: 3, devices: 6, blocksPerDevice: 60, kills: 4, log: line => console.log(line) })
        const context = `seed ${r.seed} (${r.requests} requests, ${r.failedRequests} met a dead gateway)`
        expect(r.unexpected, context).toEqual([])
        expect(r.kills, context).toBe(4)
        expect(r.lost, context).toBe(0)
        expect(r.duplicated, context).toBe(0)
        expect(r.verified, context).toBe(6)
        expect(r.fork.statuses, context).toEqual([409, 409])
        expect(r.fork.codes, context).toEqual(["fork", "fork"])
        // One row, seen twice: the same block at the same seq is one piece of evidence.
        expect(r.fork.eventRows, context).toBe(1)
        expect(r.fork.eventCount, context).toBe(2)
        expect(r.gatewayErrors, context).not.toContain("unexpected error")
        // The transparency log across the kills: every stored block has one leaf, the indices no hole.
        const store = await PgStore.open(dbUrl)
        try {
            const q = async (sql: string) => Number((await store.pool.query(sql)).rows[0].n)
            const blocks = await q("SELECT count(*) AS n FROM blocks")
            expect(await q("SELECT count(*) AS n FROM log_leaves"), context).toBe(blocks)
            expect(await q("SELECT coalesce(max(idx), -1) + 1 AS n FROM log_leaves"), context).toBe(blocks)
            expect(await q("SELECT size AS n FROM log_size"), context).toBe(blocks)
            expect(
                await q(
                    "SELECT count(*) AS n FROM blocks b LEFT JOIN log_leaves l ON l.device_id = b.device_id AND l.seq = b.seq AND l.block_hash = b.hash WHERE l.idx IS NULL"
                ),
                context
            ).toBe(0)
        } finally {
            await store.close()
        }
    }, 240_000)
})
