/**
 * `fieldledger audit` against the gateway process, through a SIGKILL and a restart: the audit
 * passes each time, a checkpoint size keeps its one signed note across the kill, the log key is
 * created 0600 apart from the database and printed by --print-log-key, and a block deleted from
 * the database while the gateway is down makes the next audit fail (exit 1) naming it.
 */
import { ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process"
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Database from "better-sqlite3"
import { afterAll, describe, expect, it } from "vitest"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, DEVICE_ID, testKey } from "../helpers/chains"
import { batch } from "../gateway/helpers"

const CLI = "bin/fieldledger.mjs"
const dir = mkdtempSync(join(tmpdir(), "fl-tlog-proc-"))
const ID = DEVICE_ID.toString("hex")
const env = { ...process.env, FL_MASTER_KEY: "", FL_ADMIN_TOKEN: "t", XDG_CONFIG_HOME: join(dir, "config") }
const gatewayArgs = [
    CLI,
    "gateway",
    "--db",
    join(dir, "data", "g.db"),
    "--port",
    "0",
    "--log-origin",
    "fieldledger.test/proc",
    "--checkpoint-interval",
    "1s",
]
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function startGateway(): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
    const child = spawn(process.execPath, gatewayArgs, { env })
    let output = ""
    return new Promise((resolve, reject) => {
        child.stdout.on("data", d => {
            output += d
            const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
            if (m) resolve({ child, url: m[1] })
        })
        child.stderr.on("data", d => (output += d))
        child.once("exit", code => reject(new Error("the gateway exited " + code + " before listening: " + output)))
    })
}

async function stop(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals) {
    const exited = new Promise(resolve => child.once("exit", resolve))
    child.kill(signal)
    await exited
}

/** Polls the checkpoint until it covers `size` leaves (the 1 s interval signs it). */
async function checkpointOf(url: string, size: number): Promise<string> {
    const deadline = Date.now() + 30_000
    let last = ""
    while (Date.now() < deadline) {
        last = await (await fetch(url + "/v1/log/checkpoint")).text()
        if (Number(last.split("\n")[1]) >= size) return last
        await new Promise(r => setTimeout(r, 200))
    }
    throw new Error("no checkpoint of size " + size + " within 30 s; the last was:\n" + last)
}

/** The exports the audit reads need a read token (docs/API.md, "Access"): one, made on the gateway's database. */
let token: string | undefined
function auditEnv() {
    token ??= spawnSync(
        process.execPath,
        [CLI, "gateway", "token", "create", "--read", "--label", "auditor", "--db", join(dir, "data", "g.db")],
        {
            env,
            encoding: "utf8",
        }
    ).stdout.trim()
    return { ...process.env, FL_READ_TOKEN: token }
}

function audit(url: string, vkey: string) {
    const r = spawnSync(
        process.execPath,
        [CLI, "audit", "--gateway", url, "--log-key", vkey, "--state", join(dir, "audit.json"), "--keys", join(dir, "keys"), "--json"],
        {
            encoding: "utf8",
            env: auditEnv(),
        }
    )
    return { status: r.status, out: r.stdout.trim() ? JSON.parse(r.stdout) : undefined, stderr: r.stderr }
}

async function postBlocks(url: string, blocks: Buffer[]) {
    const res = await fetch(url + "/v1/devices/" + ID + "/blocks", {
        method: "POST",
        body: new Uint8Array(batch(blocks)),
        headers: { "content-type": "application/octet-stream" },
    })
    expect(res.status).toBe(200)
    return res.json()
}

describe("fieldledger audit against the gateway process", () => {
    it("passes through a kill and a restart, and fails on a deleted block", async () => {
        const printed = spawnSync(process.execPath, [...gatewayArgs, "--print-log-key"], { env, encoding: "utf8" })
        expect(printed.status, printed.stderr).toBe(0)
        const vkey = printed.stdout.trim()
        expect(vkey).toMatch(/^fieldledger\.test\/proc\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/)
        const keyFile = join(dir, "config", "fieldledger", "log.key")
        expect(statSync(keyFile).mode & 0o777).toBe(0o600)
        expect(readFileSync(keyFile, "utf8")).toMatch(/^[0-9a-f]{64}\n$/)
        // The device's K_0 for the auditor's --keys.
        spawnSync("mkdir", ["-p", join(dir, "keys")])
        writeFileSync(join(dir, "keys", ID + ".key"), testKey().toString("hex") + "\n")

        const chain = buildChain(nodeCrypto, { dataBlocks: 30, perBlock: 2 }).blocks.map(b => b.bytes)
        let gw = await startGateway()
        const reg = await fetch(gw.url + "/v1/devices", {
            method: "POST",
            headers: { authorization: "Bearer t", "content-type": "application/json" },
            body: JSON.stringify({ deviceId: ID, key0: testKey().toString("hex") }),
        })
        expect(reg.status).toBe(201)
        const ack = await postBlocks(gw.url, chain.slice(0, 10))
        expect([ack.ack, ack.logIndex, ack.logSize]).toEqual([9, 9, 10])
        const note10 = await checkpointOf(gw.url, 10)
        const first = audit(gw.url, vkey)
        expect(first.status, first.stderr).toBe(0)
        expect(first.out).toMatchObject({ ok: true, newLeaves: 10, devices: [{ deviceId: ID, loggedUpTo: 9, authenticated: true }] })
        copyFileSync(join(dir, "audit.json"), join(dir, "audit-10.json"))

        // Killed right after an ack: the blocks were durable, the restart signs them.
        await postBlocks(gw.url, chain.slice(10, 20))
        await stop(gw.child, "SIGKILL")
        gw = await startGateway()
        expect(await (await fetch(gw.url + "/v1/log/checkpoints/10")).text()).toBe(note10)
        await checkpointOf(gw.url, 20)
        await postBlocks(gw.url, chain.slice(20))
        await checkpointOf(gw.url, chain.length)
        const second = audit(gw.url, vkey)
        expect(second.status, second.stderr).toBe(0)
        expect(second.out).toMatchObject({ ok: true, previousSize: 10, newLeaves: chain.length - 10 })
        // Another auditor's older state: the same log at size 10, which the gateway proves the larger extends.
        const compare = (...extra: string[]) =>
            spawnSync(
                process.execPath,
                [CLI, "audit", "--compare", join(dir, "audit-10.json"), join(dir, "audit.json"), "--json", ...extra],
                {
                    encoding: "utf8",
                }
            )
        expect(JSON.parse(compare().stdout)).toEqual({ ok: true, sizes: [10, chain.length], consistent: false })
        const joined = compare("--gateway", gw.url)
        expect(joined.status, joined.stderr).toBe(0)
        expect(JSON.parse(joined.stdout)).toEqual({ ok: true, sizes: [10, chain.length], consistent: true })
        // For people: one line for the log, one per device.
        const human = spawnSync(
            process.execPath,
            [CLI, "audit", "--gateway", gw.url, "--log-key", vkey, "--state", join(dir, "audit.json")],
            {
                encoding: "utf8",
                env: auditEnv(),
            }
        )
        expect(human.status, human.stderr).toBe(0)
        expect(human.stdout).toContain("log OK: checkpoint of " + chain.length + " leaves")
        expect(human.stdout).toContain(
            "device " + ID + ": logged up to seq " + (chain.length - 1) + ", 0 new, export holds them (links only: no K_0)"
        )
        await stop(gw.child, "SIGTERM")

        // While it is down, someone deletes a block from its database.
        const db = new Database(join(dir, "data", "g.db"))
        db.prepare("DELETE FROM blocks WHERE device_id = ? AND seq = 7").run(ID)
        db.close()
        gw = await startGateway()
        const third = audit(gw.url, vkey)
        expect(third.status).toBe(1)
        expect(third.out).toMatchObject({ ok: false, error: "deleted-block" })
        expect(third.out.message).toMatch(/lacks blocks before seq 8/)
        await stop(gw.child, "SIGTERM")
    })

    it("refuses bad usage with exit 2 and a message", () => {
        const run = (...args: string[]) => spawnSync(process.execPath, [CLI, "audit", ...args], { encoding: "utf8" })
        const cases: [string[], RegExp][] = [
            [["--log-key", "x+y+z", "--state", "s"], /--gateway is required/],
            [
                ["--gateway", "http://127.0.0.1:9", "--state", "s", "--log-key", "a+b+c"],
                /--log-key: the verifier key's ID is not 8 hex digits/,
            ],
            [["--compare", "one.json"], /--compare takes two state files/],
            [["--gateway", "http://127.0.0.1:9", "--log-key", "fieldledger.test/proc+00000000+AQ=="], /--state is required/],
        ]
        for (const [args, message] of cases) {
            const r = run(...args)
            expect(r.status, args.join(" ")).toBe(2)
            expect(r.stderr).toMatch(message)
        }
    })
})
