/** `fieldledger gateway`: one command starts it and prints its URL; --help; usage errors exit 2. */
import { ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { AddressInfo, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, test } from "vitest"
import { PUBLIC_READ_WARNING } from "../../../tools/gateway"

const CLI = "bin/fieldledger.mjs"

/** Waits for the gateway process to print its URL; rejects if it exits first. */
function listening(child: ChildProcessWithoutNullStreams): Promise<{ url: string; output: string }> {
    let output = ""
    return new Promise((resolve, reject) => {
        child.stdout.on("data", d => {
            output += d
            const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
            if (m) resolve({ url: m[1], output })
        })
        child.once("exit", code => reject(new Error("exited " + code + ": " + output)))
    })
}

describe("fieldledger gateway", () => {
    test("--help lists the options", () => {
        const r = spawnSync(process.execPath, [CLI, "gateway", "--help"], { encoding: "utf8" })
        expect(r.status).toBe(0)
        for (const option of [
            "--db",
            "--port",
            "--host",
            "--admin-token-file",
            "--master-key-file",
            "--stale-after",
            "--public-read",
            "token create --read",
            "--log-key-file",
            "--log-origin",
            "--checkpoint-interval",
            "--print-log-key",
        ])
            expect(r.stdout).toContain(option)
    })

    test("a port in use: one line with the fix, exit 1, no stack trace", async () => {
        const dir = mkdtempSync(join(tmpdir(), "fl-gateway-cli-"))
        const taken = createServer()
        await new Promise<void>(resolve => taken.listen(0, "127.0.0.1", resolve))
        try {
            const port = (taken.address() as AddressInfo).port
            const r = spawnSync(process.execPath, [CLI, "gateway", "--db", join(dir, "g.db"), "--port", String(port)], {
                encoding: "utf8",
                env: { ...process.env, FL_MASTER_KEY: "", XDG_CONFIG_HOME: join(dir, "config") },
            })
            expect(r.status, r.stdout + r.stderr).toBe(1)
            expect(r.stderr).toBe(
                `fieldledger gateway: port ${port} is in use (another gateway or \`npm start\`?); stop it or pass --port\n`
            )
        } finally {
            taken.close()
            rmSync(dir, { recursive: true, force: true })
        }
    })

    test("a bad port is a usage error (exit 2)", () => {
        const r = spawnSync(process.execPath, [CLI, "gateway", "--port", "http"], { encoding: "utf8" })
        expect(r.status).toBe(2)
        expect(r.stderr).toContain("--port")
    })

    test.each(["soon", "0", "-5", "2h30m"])("--stale-after %s is a usage error (exit 2)", value => {
        const r = spawnSync(process.execPath, [CLI, "gateway", "--stale-after=" + value], { encoding: "utf8" })
        expect(r.status).toBe(2)
        expect(r.stderr).toContain("--stale-after must be a duration")
    })

    test("--stale-after sets the dashboard's base threshold", async () => {
        const dir = mkdtempSync(join(tmpdir(), "fl-gateway-cli-"))
        try {
            const child = spawn(
                process.execPath,
                [CLI, "gateway", "--db", join(dir, "g.db"), "--port", "0", "--stale-after", "2h", "--public-read"],
                { env: { ...process.env, FL_MASTER_KEY: "", XDG_CONFIG_HOME: join(dir, "config") } }
            )
            const exited = new Promise<number>(resolve => child.once("exit", code => resolve(code)))
            const { url, output } = await listening(child)
            // --public-read opens reads (this test is about the threshold), and says so.
            expect(output).toContain(PUBLIC_READ_WARNING)
            expect((await (await fetch(url + "/dashboard/api/fleet")).json()).staleAfterMs).toBe(2 * 3600 * 1000)
            child.kill("SIGTERM")
            expect(await exited).toBe(0)
        } finally {
            rmSync(dir, { recursive: true, force: true })
        }
    })

    test("starts, creates its master key once (mode 0600) apart from the database, prints its URL, answers, and stops on SIGTERM", async () => {
        const dir = mkdtempSync(join(tmpdir(), "fl-gateway-cli-"))
        try {
            const env = { ...process.env, FL_ADMIN_TOKEN: "t", FL_MASTER_KEY: "", XDG_CONFIG_HOME: join(dir, "config") }
            const child = spawn(process.execPath, [CLI, "gateway", "--db", join(dir, "data", "g.db"), "--port", "0"], { env })
            const { url, output } = await listening(child)
            expect(output).toContain("created a new master key")
            expect(output).not.toMatch(/[0-9a-f]{64}/)
            const key = join(dir, "config", "fieldledger", "master.key")
            expect(existsSync(key)).toBe(true)
            expect(existsSync(join(dir, "data", "gateway-master.key"))).toBe(false)
            expect(statSync(key).mode & 0o777).toBe(0o600)
            expect(statSync(join(dir, "config", "fieldledger")).mode & 0o777).toBe(0o700)
            expect(statSync(join(dir, "data")).mode & 0o777).toBe(0o700)
            expect(statSync(join(dir, "data", "g.db")).mode & 0o777).toBe(0o600)
            expect(await (await fetch(url + "/v1/health", { headers: { authorization: "Bearer t" } })).json()).toEqual({
                ok: true,
                devices: 0,
            })
            // Without --public-read reads need a token, and the gateway says so.
            expect(output).not.toContain(PUBLIC_READ_WARNING)
            expect(output).toContain("reads need a read token")
            expect((await fetch(url + "/dashboard/api/fleet")).status).toBe(401)
            expect((await fetch(url + "/v1/devices")).status).toBe(401)
            const exited = new Promise<number>(resolve => child.once("exit", code => resolve(code)))
            child.kill("SIGTERM")
            expect(await exited).toBe(0)
        } finally {
            rmSync(dir, { recursive: true, force: true })
        }
    })

    test("keeps using a master key at the old default beside the database, and says how to move it", async () => {
        const dir = mkdtempSync(join(tmpdir(), "fl-gateway-cli-"))
        try {
            const old = join(dir, "gateway-master.key")
            writeFileSync(old, "ab".repeat(32) + "\n", { mode: 0o600 })
            const env = { ...process.env, FL_MASTER_KEY: "", XDG_CONFIG_HOME: join(dir, "config") }
            const child = spawn(process.execPath, [CLI, "gateway", "--db", join(dir, "g.db"), "--port", "0"], { env })
            const exited = new Promise<number>(resolve => child.once("exit", code => resolve(code)))
            const { url, output } = await listening(child)
            expect((await fetch(url + "/v1/health")).status).toBe(200)
            expect(output).not.toContain("created a new master key")
            expect(output).toContain("master key from " + old)
            expect(output).toContain("mv " + old + " " + join(dir, "config", "fieldledger", "master.key"))
            expect(existsSync(join(dir, "config", "fieldledger", "master.key"))).toBe(false)
            child.kill("SIGTERM")
            expect(await exited).toBe(0)
        } finally {
            rmSync(dir, { recursive: true, force: true })
        }
    })
})
