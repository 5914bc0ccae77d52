/**
 * The LogStore contract (logstore-contract.ts) on PostgreSQL, in the store's own schema, and
 * what only a server database shows: a transaction that rolls back after taking indices leaves
 * no hole, and the next takes them once the first has ended (it waits on the counter row).
 */
import { describe, expect, it } from "vitest"
import { PgStore } from "../../../tools/gateway/pgstore"
import { PgLogStore } from "../../../tools/gateway/tlog/pglogstore"
import { testPgDatabase } from "../helpers/pg"
import { logStoreContract } from "./logstore-contract"

let n = 0
logStoreContract("PostgreSQL", async () => {
    const store = await PgStore.open(await testPgDatabase("tlog" + n++))
    return { store: store.log, close: () => store.close() }
})

describe("the counter row on PostgreSQL", () => {
    it("a rolled-back append leaves no hole; a concurrent one gets its indices after it ends", async () => {
        const store = await PgStore.open(await testPgDatabase("tlogrb"))
        const a = await store.pool.connect()
        const b = await store.pool.connect()
        try {
            await a.query("BEGIN")
            await b.query("BEGIN")
            expect(
                await PgLogStore.appendInTransaction(
                    a,
                    "be4c000000000001",
                    [0, 1, 2].map(seq => ({ seq, hash: Buffer.alloc(32, seq) }))
                )
            ).toBe(0)
            const order: string[] = []
            const second = PgLogStore.appendInTransaction(b, "be4c000000000002", [{ seq: 0, hash: Buffer.alloc(32, 9) }]).then(i => {
                order.push("b appended")
                return i
            })
            // b waits on a's row lock: it cannot finish before a ends.
            await a.query("SELECT pg_sleep(0.2)")
            order.push("a rolls back")
            await a.query("ROLLBACK")
            expect(await second).toBe(0)
            await b.query("COMMIT")
            expect(order).toEqual(["a rolls back", "b appended"])
            expect(await store.log.sequencedSize()).toBe(1)
            expect((await store.log.readEntries(0, 10)).length).toBe(1)
        } finally {
            a.release()
            b.release()
            await store.close()
        }
    })
})
