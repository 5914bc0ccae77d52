/**
 * `fieldledger start` as a developer runs it (a real process, short runs): it provisions the
 * simulated device over the devtools bus with a fresh K_0 (in the key file, never on the
 * terminal), the live check and the gateway verify the new chain, the export verifies offline
 * with the key file; --continue keeps the key and does not provision again.
 *
 * Uses TCP port 8082 through Simulator (the machine-wide bus lock, tools/lib/buslock.ts): the
 * runs wait for other bus suites; --duration counts from the device's boot, not the wait.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, test } from "vitest"

const DEVICE_ID = "5e1f1ed9e00000f7"
const dir = mkdtempSync(join(tmpdir(), "fieldledger-start-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const keyFile = join(dir, "device.key")
const exportFile = join(dir, "chain.json")

/** The dashboard line start prints: a link that signs the browser in with the run's read token. */
const DASHBOARD_LINK = /dashboard: (http:\/\/127\.0\.0\.1:\d+)\/signin\?token=(flr_[A-Za-z0-9_-]{43}) /

/**
 * While the run is up: its dashboard link signs in (303 to /, the token in an HttpOnly cookie)
 * and the cookie reads the fleet, which answers 401 without it.
 */
async function checkDashboardLink(base: string, token: string) {
    expect((await fetch(base + "/v1/devices")).status).toBe(401)
    const signin = await fetch(base + "/signin?token=" + token, { redirect: "manual" })
    expect(signin.status).toBe(303)
    expect(signin.headers.get("location")).toBe("/")
    const cookie = signin.headers.get("set-cookie") ?? ""
    expect(cookie).toMatch(/HttpOnly; SameSite=Strict/)
    const fleet = await fetch(base + "/dashboard/api/fleet", { headers: { cookie: cookie.split(";")[0] } })
    expect(fleet.status).toBe(200)
    return (await fleet.json()).devices.length as number
}

function start(...extra: string[]): Promise<{ code: number | null; out: string; link?: Promise<number> }> {
    const args = [
        "bin/fieldledger.mjs",
        "start",
        "--port",
        "0",
        "--device-id",
        DEVICE_ID,
        "--db",
        join(dir, "gw.db"),
        "--export",
        exportFile,
        "--key-file",
        keyFile,
        ...extra,
    ]
    return new Promise(resolve => {
        const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] })
        let out = ""
        let link: Promise<number> | undefined
        child.stdout.on("data", d => {
            out += d
            const m = link ? null : DASHBOARD_LINK.exec(out)
            if (m) link = checkDashboardLink(m[1], m[2])
        })
        child.stderr.on("data", d => (out += d))
        child.on("close", code => resolve({ code, out, link }))
    })
}

function verify() {
    const r = spawnSync(process.execPath, ["bin/fieldledger.mjs", "verify", exportFile, "--key-file", keyFile], { encoding: "utf8" })
    return { code: r.status, out: r.stdout + r.stderr }
}

describe("fieldledger start", () => {
    test("provisions the simulated device with a fresh key; the export verifies with the key file", async () => {
        const r = await start("--duration", "20")
        expect(r.code, r.out).toBe(0)
        expect(r.link, "the dashboard link line: " + r.out.slice(0, 400)).toBeDefined()
        expect(await r.link).toBeGreaterThanOrEqual(0)
        expect(r.out).toMatch(
            /provisioning device 5e1f1ed9e00000f7 over the devtools bus: configuration, then a new chain under a fresh key/
        )
        expect(r.out).toMatch(/sealed   block 0: genesis, .* under the development key \(before provisioning; not synced\)/)
        expect(r.out).toMatch(/sealed   block 0: genesis \(successor of head [0-9a-f]{16}\), .* verified on arrival/)
        expect(r.out).toMatch(/registered device 5e1f1ed9e00000f7 with the new key/)
        expect(r.out).toMatch(/synced   \d+ block\(s\); gateway holds seq 0\.\./)
        expect(r.out).not.toMatch(/FAILED/)
        expect(r.out).toContain("--key-file " + keyFile)
        const key = readFileSync(keyFile, "utf8").trim()
        expect(key).toMatch(/^[0-9a-f]{64}$/)
        expect(statSync(keyFile).mode & 0o777).toBe(0o600)
        expect(r.out).not.toContain(key)
        const v = verify()
        expect(v.code, v.out).toBe(0)
        expect(v.out).toMatch(/succeeds  chain with head [0-9a-f]{64}/)
    }, 900000)

    test("a device that never boots is a failure: exit 1 with a line that says so, not a quiet exit 0", async () => {
        // No VM boots within a millisecond of starting: the run ends on the boot limit.
        const r = await start("--continue", "--duration", "12", "--boot-timeout", "1ms")
        expect(r.code, r.out).toBe(1)
        expect(r.out).toMatch(
            /fieldledger start: the device never booted: no fl:boot line within 0 s of the simulator starting it \(--boot-timeout\)/
        )
        expect(r.out).not.toMatch(/provisioning device|sealed   block/)
    }, 900000)

    test("--continue keeps the key and does not provision again", async () => {
        const key = readFileSync(keyFile, "utf8")
        const r = await start("--continue", "--duration", "12")
        expect(r.code, r.out).toBe(0)
        expect(r.out).toMatch(/device 5e1f1ed9e00000f7 is provisioned: its chain continues under the key in /)
        expect(r.out).not.toMatch(/provisioning device|FAILED/)
        expect(readFileSync(keyFile, "utf8")).toBe(key)
        const v = verify()
        expect(v.code, v.out).toBe(0)
    }, 900000)
})
