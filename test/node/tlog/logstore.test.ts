/** The LogStore contract (logstore-contract.ts) on the SQLite store, in the gateway's database; its entries built in SQL; the reader's tile cache. */
import { describe, expect, it } from "vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SqliteStore } from "../../../tools/gateway/store"
import { LogIntegrator } from "../../../tools/gateway/tlog/integrator"
import { LogReader } from "../../../tools/gateway/tlog/logreader"
import { decodeLeaf, encodeLeaf, LeafEntry } from "../../../tools/lib/tlog/leaf"
import { leafHash, verifyInclusion } from "../../../tools/lib/tlog/merkle"
import { LOG } from "./helpers"
import { logStoreContract } from "./logstore-contract"

logStoreContract("SQLite", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fl-logstore-"))
    const gateway = new SqliteStore(join(dir, "g.db"))
    return {
        store: gateway.log,
        close: async () => {
            await gateway.close()
            rmSync(dir, { recursive: true, force: true })
        },
    }
})

describe("SQLite readEntries", () => {
    it("builds the entries in SQL exactly as encodeLeaf does, stops at a hole, and refuses a row that is no entry", async () => {
        const dir = mkdtempSync(join(tmpdir(), "fl-logstore-"))
        const gateway = new SqliteStore(join(dir, "g.db"))
        try {
            const log = gateway.log
            const written: LeafEntry[] = [
                { deviceId: "0123456789abcdef", chain: 0, seq: 0, hash: Buffer.alloc(32, 0xa5) },
                { deviceId: "fedcba9876543210", chain: 65535, seq: 0xffffffff, hash: Buffer.from(Array.from({ length: 32 }, (_, i) => i)) },
                { deviceId: "0000000000000000", chain: 7, seq: 300, hash: Buffer.alloc(32, 0) },
            ]
            await log.appendLeaves(written)
            expect((await log.readEntries(0, 10)).map(e => e.toString("hex"))).toEqual(written.map(e => encodeLeaf(e).toString("hex")))
            expect((await log.readEntries(1, 2)).map(decodeLeaf)).toEqual([written[1]])
            expect(await log.readEntries(3, 10)).toEqual([])
            // A hole (no committed log has one): the entries before it.
            gateway.db.prepare("DELETE FROM log_leaves WHERE idx = 1").run()
            expect((await log.readEntries(0, 10)).map(decodeLeaf)).toEqual([written[0]])
            expect(await log.readEntries(1, 10)).toEqual([])
            // A row altered into something no entry can hold: an error, not a misencoded entry.
            gateway.db.prepare("UPDATE log_leaves SET chain = 65536 WHERE idx = 2").run()
            await expect(log.readEntries(2, 3)).rejects.toThrow(/chain 65536/)
            gateway.db.prepare("UPDATE log_leaves SET chain = 7, device_id = '0000000000000ABC' WHERE idx = 2").run()
            await expect(log.readEntries(2, 3)).rejects.toThrow(/device id 0000000000000ABC/)
            gateway.db.prepare("UPDATE log_leaves SET device_id = '000000000000zzzz' WHERE idx = 2").run()
            await expect(log.readEntries(2, 3)).rejects.toThrow(/device id 000000000000zzzz/)
        } finally {
            await gateway.close()
            rmSync(dir, { recursive: true, force: true })
        }
    })
})

describe("LogReader's tile cache", () => {
    it("serves proofs that verify when the cache holds about one tile and evicts on every proof", async () => {
        const dir = mkdtempSync(join(tmpdir(), "fl-logstore-"))
        const gateway = new SqliteStore(join(dir, "g.db"))
        try {
            const store = gateway.log
            await store.appendLeaves(
                Array.from({ length: 1500 }, (_, i) => ({
                    deviceId: "be4c" + String(i % 7).padStart(12, "0"),
                    chain: 0,
                    seq: Math.floor(i / 7),
                    hash: Buffer.alloc(32, i & 255),
                }))
            )
            const cp = await new LogIntegrator({ store, signer: LOG.signer, origin: LOG.origin }).checkpoint()
            const entries = await store.readEntries(0, cp.size)
            const reader = new LogReader(store, 20_000)
            // Leaves of different level-0 tiles in turn: each proof needs a tile the last one pushed out.
            for (const i of [0, 1499, 256, 1280, 5, 700, 1024, 255, 1499, 0]) {
                const p = await reader.inclusionProof(i)
                expect(p.b).toBe(1500)
                expect(verifyInclusion(i, cp.size, leafHash(entries[i]), p.proof, cp.root), "leaf " + i).toBe(true)
            }
        } finally {
            await gateway.close()
            rmSync(dir, { recursive: true, force: true })
        }
    })
})
