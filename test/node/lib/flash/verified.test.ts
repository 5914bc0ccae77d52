/**
 * writeVerified / deleteVerified on fake stores that fail the ways flash can: a write that
 * vanishes once, a full store that drops every write (the previous value stays), a store that
 * hands back bytes nobody wrote, and one that does not answer.
 */
import { describe, expect, test } from "vitest"
import { deleteVerified, KeyValueStore, StorageError, writeVerified } from "../../../../src/lib/flash/verified"
import { MemoryStore } from "../../helpers/memorystore"

/** A MemoryStore whose set can be made to do nothing (silently) a number of times, or to store garbled bytes. */
class FaultyStore extends MemoryStore {
    dropWrites = 0
    garble = false
    sets = 0
    async set(key: string, value: Buffer) {
        this.sets++
        if (this.dropWrites > 0) {
            this.dropWrites--
            return
        }
        const stored = Buffer.from(value)
        if (this.garble) stored[stored.length - 1] ^= 0xff
        return super.set(key, stored)
    }
    async delete(key: string) {
        if (this.dropWrites > 0) {
            this.dropWrites--
            return
        }
        return super.delete(key)
    }
}

const value = Buffer.from("the value that matters")
const previous = Buffer.from("what was there before")

async function kindOf(p: Promise<void>): Promise<string> {
    try {
        await p
        return "kept"
    } catch (e) {
        if (e instanceof StorageError) return e.kind
        throw e
    }
}

describe("writeVerified", () => {
    test("a write that reads back is done in one write", async () => {
        const kv = new FaultyStore()
        await writeVerified(kv, "k", value)
        expect(kv.sets).toBe(1)
        expect((await kv.get("k"))!.equals(value)).toBe(true)
    })

    test("a first write that vanished is written once more and kept", async () => {
        const kv = new FaultyStore()
        kv.dropWrites = 1
        await writeVerified(kv, "k", value)
        expect(kv.sets).toBe(2)
        expect((await kv.get("k"))!.equals(value)).toBe(true)
    })

    test("a store that drops every write is full, whether the key held nothing or an older value", async () => {
        const empty = new FaultyStore()
        empty.dropWrites = Infinity
        expect(await kindOf(writeVerified(empty, "k", value))).toBe("full")
        const older = new FaultyStore()
        await older.set("k", previous)
        older.dropWrites = Infinity
        expect(await kindOf(writeVerified(older, "k", value))).toBe("full")
        expect((await older.get("k"))!.equals(previous)).toBe(true)
        // Two writes, then the verdict: no loop on a full store.
        expect(older.sets).toBe(3)
    })

    test("the in-memory model of a full settings store is full too", async () => {
        const kv = new MemoryStore(60)
        expect(await kindOf(writeVerified(kv, "k", Buffer.alloc(100)))).toBe("full")
    })

    test("a store that hands back bytes nobody wrote is corrupt, not full", async () => {
        const kv = new FaultyStore()
        await kv.set("k", previous)
        kv.garble = true
        expect(await kindOf(writeVerified(kv, "k", value))).toBe("corrupt")
    })

    test("a store that does not answer throws its own error, unchanged", async () => {
        const silent: KeyValueStore = {
            get: async () => {
                throw new StorageError("io", "no answer from the settings service")
            },
            set: async () => {},
            delete: async () => {},
        }
        expect(await kindOf(writeVerified(silent, "k", value))).toBe("io")
    })

    test("leaves the caller's value alone even when the store hands back the same buffer", async () => {
        const map = new Map<string, Buffer>()
        const sharing: KeyValueStore = {
            get: async k => map.get(k),
            set: async (k, v) => void map.set(k, v),
            delete: async k => void map.delete(k),
        }
        const mine = Buffer.from(value)
        await writeVerified(sharing, "k", mine)
        expect(mine.equals(value)).toBe(true)
    })
})

describe("deleteVerified", () => {
    test("a delete that takes is done; one that vanished once is repeated; one never kept is full", async () => {
        const kv = new FaultyStore()
        await kv.set("k", previous)
        await deleteVerified(kv, "k")
        expect(await kv.get("k")).toBeUndefined()
        await kv.set("k", previous)
        kv.dropWrites = 1
        await deleteVerified(kv, "k")
        expect(await kv.get("k")).toBeUndefined()
        await kv.set("k", previous)
        kv.dropWrites = Infinity
        expect(await kindOf(deleteVerified(kv, "k"))).toBe("full")
    })
})
