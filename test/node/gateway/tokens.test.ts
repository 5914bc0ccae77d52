/**
 * Read tokens: their shape and hash (tools/gateway/tokens.ts), their table on both stores
 * (tokenstore.ts: SQLite on a temporary file, PostgreSQL on the run's private cluster, two
 * handles as two gateways hold), and `fieldledger gateway token` (tokencli.ts).
 */
import { mkdtempSync, readFileSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, test, vi } from "vitest"
import { PgStore } from "../../../tools/gateway/pgstore"
import { GatewayStore, SqliteStore } from "../../../tools/gateway/store"
import { runToken } from "../../../tools/gateway/tokencli"
import { looksLikeReadToken, newReadToken, parseDeviceList, readTokenHash } from "../../../tools/gateway/tokens"
import { UsageError } from "../../../tools/lib/args"
import { testPgDatabase } from "../helpers/pg"
import { removeDir } from "./helpers"

const ID = "12abdd2289421234"
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5)

describe("a read token", () => {
    test("is flr_ and 32 random bytes in base64url; the store keeps its SHA-256 and a public id", () => {
        const a = newReadToken({ now: NOW })
        const b = newReadToken({ now: NOW })
        expect(a.token).toMatch(/^flr_[A-Za-z0-9_-]{43}$/)
        expect(Buffer.from(a.token.slice(4), "base64url").length).toBe(32)
        expect(a.token).not.toBe(b.token)
        expect(a.record.hash.equals(readTokenHash(a.token))).toBe(true)
        expect(a.record.id).toMatch(/^[0-9a-f]{12}$/)
        expect(JSON.stringify(a.record)).not.toContain(a.token.slice(4))
        expect(looksLikeReadToken(a.token)).toBe(true)
        for (const bad of ["", "flr_", a.token + "x", "flx_" + a.token.slice(4), a.token.slice(0, -1) + "="])
            expect(looksLikeReadToken(bad)).toBe(false)
    })

    test("--devices takes device ids only", () => {
        expect(parseDeviceList(ID + ", 0BADC0FFEE000001," + ID)).toEqual([ID, "0badc0ffee000001"])
        for (const bad of ["", ",", "12ab", ID + ",xyz"]) expect(() => parseDeviceList(bad), bad).toThrow(/device/)
    })
})

const backends: { name: string; open(): Promise<[GatewayStore, GatewayStore, () => Promise<void>]> }[] = [
    {
        name: "sqlite",
        async open() {
            const dir = mkdtempSync(join(tmpdir(), "fl-tokens-"))
            const a = new SqliteStore(join(dir, "g.db"))
            const b = new SqliteStore(join(dir, "g.db"))
            return [a, b, async () => removeDir(dir)]
        },
    },
    {
        name: "postgres",
        async open() {
            const url = await testPgDatabase("tokens" + Math.floor(Math.random() * 1e9))
            return [await PgStore.open(url), await PgStore.open(url), async () => {}]
        },
    },
]

describe.each(backends)("read tokens in the store ($name)", backend => {
    let close = async () => {}
    afterEach(() => close())

    test("stored hashed, found by hash on another gateway's handle, listed, revoked for both", async () => {
        const [a, b, cleanup] = await backend.open()
        close = async () => {
            await a.close()
            await b.close()
            await cleanup()
        }
        const all = newReadToken({ label: "ops", now: NOW })
        const one = newReadToken({ devices: [ID], now: NOW + 1 })
        await a.tokens.insert(all.record)
        await a.tokens.insert(one.record)
        expect(await b.tokens.byHash(readTokenHash(all.token))).toEqual({
            id: all.record.id,
            label: "ops",
            devices: null,
            createdAt: NOW,
            revokedAt: null,
        })
        expect((await b.tokens.byHash(readTokenHash(one.token)))?.devices).toEqual([ID])
        expect(await b.tokens.byHash(readTokenHash(all.token + "x"))).toBeUndefined()
        expect((await b.tokens.list()).map(t => t.id)).toEqual([all.record.id, one.record.id])
        expect(await b.tokens.revoke(all.record.id, NOW + 5)).toBe("revoked")
        expect(await a.tokens.byHash(readTokenHash(all.token))).toBeUndefined()
        expect(await a.tokens.revoke(all.record.id, NOW + 6)).toBe("already-revoked")
        expect(await a.tokens.revoke("000000000000", NOW)).toBe("unknown")
        expect((await a.tokens.list())[0].revokedAt).toBe(NOW + 5)
        // The same hash twice is refused by the unique index (a collision would be a bug, not a second token).
        await expect(a.tokens.insert({ ...one.record, id: "aaaaaaaaaaaa" })).rejects.toThrow()
    })
})

describe("fieldledger gateway token", () => {
    let dir: string
    afterEach(() => {
        vi.restoreAllMocks()
        removeDir(dir)
    })

    async function run(argv: string[]) {
        const out: string[] = []
        const err: string[] = []
        vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")))
        vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")))
        const code = await runToken(argv)
        vi.restoreAllMocks()
        return { code, out: out.join("\n"), err: err.join("\n") }
    }

    test("create prints the token once, list shows no token, revoke ends it; --token-file writes it 0600", async () => {
        dir = mkdtempSync(join(tmpdir(), "fl-tokencli-"))
        const db = join(dir, "g.db")
        await expect(run(["create", "--read", "--db", db])).rejects.toThrow(/no gateway database at/)
        await new SqliteStore(db).close()
        const created = await run(["create", "--read", "--devices", ID, "--label", "kiosk", "--db", db])
        expect(created.code).toBe(0)
        const token = created.out.trim()
        expect(looksLikeReadToken(token)).toBe(true)
        expect(created.err).toContain("reads devices " + ID + " (kiosk)")
        expect(created.err).toContain("not registered (yet): " + ID)
        const listed = await run(["list", "--db", db, "--json"])
        const [t] = JSON.parse(listed.out).tokens
        expect(t).toMatchObject({ label: "kiosk", devices: [ID], revokedAt: null })
        expect(listed.out).not.toContain(token.slice(4))
        const store = new SqliteStore(db)
        expect(readFileSync(db).includes(Buffer.from(token))).toBe(false)
        expect((await store.tokens.byHash(readTokenHash(token)))?.id).toBe(t.id)
        expect((await run(["revoke", t.id, "--db", db])).out).toContain("revoked")
        expect(await store.tokens.byHash(readTokenHash(token))).toBeUndefined()
        await store.close()
        expect((await run(["revoke", "0123456789ab", "--db", db])).code).toBe(1)
        const file = join(dir, "t.token")
        const toFile = await run(["create", "--read", "--token-file", file, "--db", db])
        expect(toFile.out).toBe("")
        expect(looksLikeReadToken(readFileSync(file, "utf8").trim())).toBe(true)
        expect(statSync(file).mode & 0o777).toBe(0o600)
        expect((await run(["list", "--db", db])).out.split("\n")).toHaveLength(2)
    })

    test("refuses a token without --read, bad device ids, a bad id to revoke; --help on each", async () => {
        dir = mkdtempSync(join(tmpdir(), "fl-tokencli-"))
        const db = join(dir, "g.db")
        await new SqliteStore(db).close()
        await expect(run(["create", "--db", db])).rejects.toThrow(UsageError)
        await expect(run(["create", "--read", "--devices", "12ab", "--db", db])).rejects.toThrow(/not a device id/)
        await expect(run(["revoke", "nope", "--db", db])).rejects.toThrow(/12 lower-case hex/)
        await expect(run(["frobnicate"])).rejects.toThrow(UsageError)
        for (const sub of ["create", "list", "revoke"]) {
            const help = await run([sub, "--help"])
            expect(help.code).toBe(0)
            expect(help.out).toContain("Usage: fieldledger gateway token " + sub)
        }
        expect((await run(["--help"])).out).toContain("token create --read")
    })
})
