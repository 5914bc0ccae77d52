/**
 * What every LogStore (tools/gateway/tlog/logstore.ts) must do, as one suite a store's test file
 * runs with its own factory: the SQLite store here (logstore.test.ts), the PostgreSQL one where
 * a server is at hand. Indices contiguous also under concurrent appends, entries read back in
 * order, the integrated size's compare-and-set, the first checkpoint of a size kept, and the
 * integrator and reader over it agreeing with the entries.
 */
import { describe, expect, it } from "vitest"
import { LogIntegrator } from "../../../tools/gateway/tlog/integrator"
import { LogStore } from "../../../tools/gateway/tlog/logstore"
import { LogReader } from "../../../tools/gateway/tlog/logreader"
import { CompactRange } from "../../../tools/lib/tlog/compact"
import { decodeLeaf, LeafEntry } from "../../../tools/lib/tlog/leaf"
import { leafHash, verifyConsistency, verifyInclusion } from "../../../tools/lib/tlog/merkle"
import { LOG } from "./helpers"

export interface OpenedLogStore {
    store: LogStore
    close(): Promise<void>
}

function entries(n: number, device = 0, firstSeq = 0): LeafEntry[] {
    return Array.from({ length: n }, (_, i) => ({
        deviceId: "be4c" + String(device).padStart(12, "0"),
        chain: 0,
        seq: firstSeq + i,
        hash: Buffer.alloc(32, (device * 31 + i) & 255),
    }))
}

export function logStoreContract(name: string, open: () => Promise<OpenedLogStore>) {
    describe("LogStore contract: " + name, () => {
        it("assigns contiguous indices, also to concurrent appends, and reads the entries back in order", async () => {
            const { store, close } = await open()
            try {
                expect(await store.sequencedSize()).toBe(0)
                expect(await store.appendLeaves(entries(3))).toBe(0)
                const firsts = await Promise.all(Array.from({ length: 8 }, (_, d) => store.appendLeaves(entries(5, d + 1))))
                expect([...firsts].sort((a, b) => a - b)).toEqual([3, 8, 13, 18, 23, 28, 33, 38])
                expect(await store.sequencedSize()).toBe(43)
                const read = (await store.readEntries(0, 100)).map(decodeLeaf)
                expect(read.length).toBe(43)
                // Each append's leaves are consecutive, in its order.
                for (const [d, first] of firsts.entries())
                    expect(read.slice(first, first + 5).map(e => [e.deviceId, e.seq])).toEqual(
                        entries(5, d + 1).map(e => [e.deviceId, e.seq])
                    )
                expect(await store.leafIndex("be4c000000000003", 0, 4)).toBe(firsts[2] + 4)
                expect(await store.leafIndex("be4c000000000003", 1, 4)).toBeUndefined()
                expect(await store.loggedUpTo("be4c000000000003", 0, firsts[2] + 2)).toBe(1)
                expect(await store.loggedUpTo("be4c000000000003", 0, 0)).toBe(-1)
                expect(await store.currentChain("be4c000000000003")).toBe(0)
            } finally {
                await close()
            }
        })

        it("integrates into tiles whose root is the entries', signs once per size, and proves inclusion and consistency", async () => {
            const { store, close } = await open()
            try {
                const integrator = new LogIntegrator({ store, signer: LOG.signer, origin: LOG.origin })
                const reader = new LogReader(store)
                const sizes: { size: number; root: Buffer }[] = []
                for (const [k, n] of [1, 255, 1, 300, 700].entries()) {
                    await store.appendLeaves(entries(n, 100 + k))
                    sizes.push(await integrator.checkpoint())
                }
                const all = await store.readEntries(0, 2000)
                const range = new CompactRange()
                for (const e of all) range.append(leafHash(e))
                const last = sizes[sizes.length - 1]
                expect(last.size).toBe(1257)
                expect(last.root.equals(range.root())).toBe(true)
                // Nothing new: the same checkpoint comes back.
                expect((await integrator.checkpoint()).root.equals(last.root)).toBe(true)
                for (const i of [0, 255, 256, 1000, 1256]) {
                    const p = await reader.inclusion(i)
                    expect(
                        verifyInclusion(
                            i,
                            last.size,
                            leafHash(all[i]),
                            p.proof.map(h => Buffer.from(h, "base64")),
                            last.root
                        )
                    ).toBe(true)
                }
                for (const old of sizes) {
                    const c = await reader.consistency(old.size)
                    expect(
                        verifyConsistency(
                            old.size,
                            last.size,
                            old.root,
                            last.root,
                            c.proof.map(h => Buffer.from(h, "base64"))
                        )
                    ).toBe(true)
                }
                // The compare-and-set: a stale integrator writes nothing.
                expect(await store.putTiles(0, 5, [])).toBe(false)
                expect(await store.integratedSize()).toBe(1257)
                // First writer wins at a size.
                const kept = await store.putCheckpoint({ size: 1257, root: Buffer.alloc(32, 1), time: 1, note: "other\n" })
                expect(kept.root.equals(last.root)).toBe(true)
            } finally {
                await close()
            }
        })
    })
}
