/** The store's files: private modes, and commits durable before the ack (synchronous=FULL). */
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, test } from "vitest"
import { SqliteStore } from "../../../tools/gateway/store"
import { removeDir } from "./helpers"

const mode = (file: string) => statSync(file).mode & 0o777

describe("gateway store files", () => {
    test("creates its directory 0700 and the database, its WAL and shm 0600", async () => {
        const dir = mkdtempSync(join(tmpdir(), "fl-store-files-"))
        try {
            const db = join(dir, "new", "gateway.db")
            const store = new SqliteStore(db)
            await store.metaInit("x", Buffer.from("y"))
            expect(mode(join(dir, "new"))).toBe(0o700)
            for (const file of [db, db + "-wal", db + "-shm"]) {
                expect(existsSync(file), file).toBe(true)
                expect(mode(file), file).toBe(0o600)
            }
            await store.close()
        } finally {
            removeDir(dir)
        }
    })

    test("narrows an existing database file to 0600", async () => {
        const dir = mkdtempSync(join(tmpdir(), "fl-store-files-"))
        try {
            const db = join(dir, "gateway.db")
            writeFileSync(db, "")
            chmodSync(db, 0o644)
            await new SqliteStore(db).close()
            expect(mode(db)).toBe(0o600)
        } finally {
            removeDir(dir)
        }
    })

    test("commits with synchronous=FULL, so an acknowledged batch survives a power cut", async () => {
        const store = new SqliteStore(":memory:")
        try {
            // 2 = FULL (0 OFF, 1 NORMAL, 3 EXTRA).
            expect(store.db.pragma("synchronous", { simple: true })).toBe(2)
        } finally {
            await store.close()
        }
    })
})
