/**
 * `fieldledger start` checks everything that can refuse the run before it erases the previous
 * run's key file and database: a port in use, and another `start` using the same files. No
 * simulator: these runs stop before the bus.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { AddressInfo, createServer, Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, test } from "vitest"

let dir: string
let keyFile: string
let db: string

beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "fieldledger-start-guard-"))
    keyFile = join(dir, "device.key")
    db = join(dir, "gw.db")
    writeFileSync(keyFile, "ab".repeat(32) + "\n", { mode: 0o600 })
    writeFileSync(db, "the previous run's database")
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function start(port: number) {
    const r = spawnSync(
        process.execPath,
        ["bin/fieldledger.mjs", "start", "--port", String(port), "--db", db, "--key-file", keyFile, "--export", join(dir, "chain.json")],
        {
            encoding: "utf8",
            env: { ...process.env, FL_MASTER_KEY: "" },
            timeout: 60000,
        }
    )
    return { code: r.status, out: r.stdout + r.stderr }
}

function listen(): Promise<Server> {
    const server = createServer()
    return new Promise(resolve => server.listen(0, "127.0.0.1", () => resolve(server)))
}

describe("fieldledger start refuses before it erases anything", () => {
    test("a port in use: one line with the fix, exit 1, the key file and the database untouched", async () => {
        const taken = await listen()
        try {
            const port = (taken.address() as AddressInfo).port
            const r = start(port)
            expect(r.code, r.out).toBe(1)
            expect(r.out).toContain(`fieldledger start: port ${port} is in use (another gateway or \`npm start\`?); stop it or pass --port`)
            expect(readFileSync(keyFile, "utf8")).toBe("ab".repeat(32) + "\n")
            expect(readFileSync(db, "utf8")).toBe("the previous run's database")
            expect(existsSync(keyFile + ".lock")).toBe(false)
        } finally {
            taken.close()
        }
    })

    test("another start using the key file (a live pid in its lock): refused, naming it; nothing erased", async () => {
        // This test process stands in for the other `start`: alive, and not the child.
        writeFileSync(keyFile + ".lock", String(process.pid))
        const free = await listen()
        const port = (free.address() as AddressInfo).port
        await new Promise(r => free.close(r))
        const r = start(port)
        expect(r.code, r.out).toBe(1)
        expect(r.out).toContain(`${keyFile} is in use by another fieldledger start (pid ${process.pid})`)
        expect(readFileSync(keyFile, "utf8")).toBe("ab".repeat(32) + "\n")
        expect(readFileSync(db, "utf8")).toBe("the previous run's database")
        expect(readFileSync(keyFile + ".lock", "utf8")).toBe(String(process.pid))
    })
})
