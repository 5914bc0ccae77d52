/**
 * `fieldledger gateway copy`: a SQLite gateway's database into PostgreSQL, every device, sealed
 * key, block, gap record, event and closed chain; resumable, idempotent, verified; and a
 * gateway on the copy serves what the SQLite one served.
 */
import { spawn, spawnSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { newChainHead } from "../../../src/lib/ledger/chain"
import { Ledger } from "../../../src/lib/ledger/ledger"
import { copyStore, verifyCopy } from "../../../tools/gateway/copy"
import { PgStore } from "../../../tools/gateway/pgstore"
import { GatewayService } from "../../../tools/gateway/service"
import { SqliteStore } from "../../../tools/gateway/store"
import { succeed } from "../../../tools/gateway/succession"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, CHANNELS, DEVICE_ID, OTHER_DEVICE_ID, testKey } from "../helpers/chains"
import { testPgDatabase } from "../helpers/pg"
import { batch, droppedChain, ID, MASTER_KEY, NOW, openGateway, post, removeDir, TestGateway } from "./helpers"

const OTHER = OTHER_DEVICE_ID.toString("hex")
const CLI = "bin/fieldledger.mjs"

/** What a gateway shows of every device: the fleet, and each device's export, events and gaps. */
async function everything(service: GatewayService) {
    const fleet = await service.fleet()
    const devices = []
    for (const d of fleet) {
        const id = d.deviceId as string
        devices.push({ id, export: await service.exportChain(id), events: await service.events(id), gaps: await service.gaps(id) })
    }
    return { fleet, devices }
}

describe("gateway copy: SQLite to PostgreSQL", () => {
    let gw: TestGateway
    beforeAll(async () => {
        // A site's database: a device with a closed chain, a gap record and a fork on its
        // current chain, another with a plain chain and a rejected block.
        gw = await openGateway()
        await gw.service.register({ deviceId: ID, key0: testKey().toString("hex"), label: "site device" })
        // With a signing key (no signed checkpoint in its chain: the key and the verifier state are copied).
        await gw.service.register({ deviceId: OTHER, key0: testKey(0x22).toString("hex"), publicKey: "5e".repeat(32) })
        const first = buildChain(nodeCrypto, { dataBlocks: 3 })
        expect((await post(gw, batch(first.blocks))).status).toBe(200)
        const key = testKey(0x77)
        const ledger = new Ledger(
            nodeCrypto,
            DEVICE_ID,
            CHANNELS,
            newChainHead(Buffer.from(key), first.blocks[first.blocks.length - 1].hash),
            {
                intervalMs: 1000,
            }
        )
        const genesis = ledger.sealGenesis({ boot: 2, uptimeMs: 0 }, "test/2", "sim")
        await succeed(gw.service, ID, { key0: key.toString("hex"), genesis: genesis.bytes.toString("hex") }, NOW)
        const dropped = droppedChain({ dataBlocks: 30, firstLost: 3, lost: 2, key })
        expect((await post(gw, batch([...dropped.all.slice(0, 3), ...dropped.all.slice(5), dropped.gap]))).status).toBe(200)
        const other = buildChain(nodeCrypto, { dataBlocks: 40, deviceId: OTHER_DEVICE_ID, key: testKey(0x22) })
        expect((await post(gw, batch(other.blocks), "/v1/devices/" + OTHER + "/blocks")).status).toBe(200)
        const forged = Buffer.from(other.blocks[3].bytes)
        forged[forged.length - 1] ^= 1
        expect((await post(gw, batch([forged]), "/v1/devices/" + OTHER + "/blocks")).status).toBe(422)
    })
    afterAll(async () => {
        await gw.close()
        removeDir(gw.dir)
    })

    test("cut short after its first page, then run again: finishes, verifies, and a gateway on the copy serves the same", async () => {
        const url = await testPgDatabase("copy_resume")
        const source = gw.store
        const target = await PgStore.open(url)
        try {
            let pages = 0
            await expect(
                copyStore(source, target, {
                    pageBlocks: 5,
                    onProgress: p => {
                        if (p.blocks > 0 && ++pages === 2) throw new Error("interrupted")
                    },
                })
            ).rejects.toThrow("interrupted")
            const partial = await target.counts()
            expect(partial.blocks).toBeGreaterThan(0)
            expect(partial.blocks).toBeLessThan((await source.counts()).blocks)
            const report = await copyStore(source, target, { pageBlocks: 5 })
            expect(report.differences).toEqual([])
            expect(report.devices).toBe(2)
            expect(report.successionChains).toBe(1)
            expect(await target.counts()).toEqual(await source.counts())
            const again = await copyStore(source, target)
            expect(again.blocksCopied).toBe(0)
            expect(again.differences).toEqual([])
            const onCopy = await GatewayService.open({ store: target, masterKey: MASTER_KEY, now: () => NOW })
            expect(await everything(onCopy)).toEqual(await everything(gw.service))
        } finally {
            await target.close()
        }
    })

    test("a target first used with another master key is refused before anything is copied", async () => {
        const url = await testPgDatabase("copy_otherkey")
        const target = await PgStore.open(url)
        try {
            await GatewayService.open({ store: target, masterKey: Buffer.alloc(32, 3) })
            await expect(copyStore(gw.store, target)).rejects.toThrow(/another master key/)
            expect((await target.counts()).devices).toBe(0)
        } finally {
            await target.close()
        }
    })

    test("a device the target holds more of (a fleet gateway serves it) is refused, not rewound", async () => {
        const url = await testPgDatabase("copy_ahead")
        const target = await PgStore.open(url)
        try {
            await copyStore(gw.store, target)
            await target.pool.query("UPDATE devices SET head_seq = head_seq + 10 WHERE id = $1", [OTHER])
            await expect(copyStore(gw.store, target)).rejects.toThrow(/past the source/)
        } finally {
            await target.close()
        }
    })

    test("the verification finds a block, an event or a device total that differs", async () => {
        const url = await testPgDatabase("copy_verify")
        const target = await PgStore.open(url)
        try {
            await copyStore(gw.store, target)
            expect(await verifyCopy(gw.store, target)).toEqual([])
            await target.pool.query("UPDATE blocks SET bytes = bytes || '\\x00'::bytea WHERE device_id = $1 AND seq = 7", [OTHER])
            await target.pool.query("UPDATE events SET count = count + 1 WHERE device_id = $1", [OTHER])
            await target.pool.query("UPDATE devices SET readings = readings + 1 WHERE id = $1", [ID])
            await target.pool.query("UPDATE signing_keys SET signed_seq = 5 WHERE device_id = $1", [OTHER])
            expect(await verifyCopy(gw.store, target)).toEqual([
                `device ${OTHER}: the blocks differ`,
                `device ${OTHER}: the security events differ (1 in the source, 1 in the target)`,
                `device ${OTHER}: the signing key differs`,
                `device ${ID}: readings differs`,
            ])
        } finally {
            await target.close()
        }
    })

    test("the command: progress, a verified copy, exit 0; run again, nothing written; --help; usage errors exit 2", async () => {
        const url = await testPgDatabase("copy_cli")
        const env = { ...process.env, FL_DB_URL: "" }
        const r = spawnSync(process.execPath, [CLI, "gateway", "copy", "--from", gw.dbPath, "--to", url], { encoding: "utf8", env })
        expect(r.status, r.stdout + r.stderr).toBe(0)
        expect(r.stdout).toMatch(/device 2\/2 [0-9a-f]{16}: \d+\/\d+ blocks/)
        expect(r.stdout).toContain("verified:")
        const again = spawnSync(process.execPath, [CLI, "gateway", "copy", "--from", gw.dbPath, "--to", url], { encoding: "utf8", env })
        expect(again.status, again.stdout + again.stderr).toBe(0)
        expect(again.stdout).toContain("0 blocks written by this run")
        const help = spawnSync(process.execPath, [CLI, "gateway", "copy", "--help"], { encoding: "utf8" })
        expect(help.status).toBe(0)
        for (const option of ["--from", "--to"]) expect(help.stdout).toContain(option)
        for (const args of [
            ["--from", gw.dbPath, "--to", "elsewhere.db"],
            ["--from", gw.dir + "/absent.db", "--to", url],
            ["--to", url],
        ]) {
            const bad = spawnSync(process.execPath, [CLI, "gateway", "copy", ...args], { encoding: "utf8" })
            expect(bad.status, args.join(" ")).toBe(2)
        }
    })
})

describe("the gateway command on PostgreSQL", () => {
    test("--db postgres://... serves from PostgreSQL; an unreachable server is one line and exit 1", async () => {
        const url = await testPgDatabase("cli")
        const unreachable = spawnSync(process.execPath, [CLI, "gateway", "--db", "postgres://postgres@127.0.0.1:1/none", "--port", "0"], {
            encoding: "utf8",
            env: { ...process.env, FL_MASTER_KEY: MASTER_KEY.toString("hex"), FL_LOG_KEY: "ab".repeat(32) },
        })
        expect(unreachable.status, unreachable.stdout + unreachable.stderr).toBe(1)
        expect(unreachable.stderr).toMatch(/^fieldledger gateway: database postgres:\/\/postgres@127\.0\.0\.1:1\/none: .+\n$/)
        // FL_DB_URL names the database when --db is absent.
        const child = spawn(process.execPath, [CLI, "gateway", "--port", "0"], {
            env: {
                ...process.env,
                FL_DB_URL: url,
                FL_MASTER_KEY: MASTER_KEY.toString("hex"),
                FL_LOG_KEY: "ab".repeat(32),
                FL_ADMIN_TOKEN: "t",
            },
        })
        const store = await PgStore.open(url)
        try {
            const base = await new Promise<string>((resolve, reject) => {
                let output = ""
                child.stdout.on("data", d => {
                    output += d
                    const m = /listening on (http:\/\/127\.0\.0\.1:\d+) \(database (postgres:[^,]+),/.exec(output)
                    if (m) resolve(m[1])
                })
                child.once("exit", code => reject(new Error("exited " + code + ": " + output)))
            })
            const res = await fetch(base + "/v1/devices", {
                method: "POST",
                headers: { authorization: "Bearer t", "content-type": "application/json" },
                body: JSON.stringify({ deviceId: ID, key0: testKey().toString("hex") }),
            })
            expect(res.status).toBe(201)
            expect((await store.device(ID))?.id).toBe(ID)
        } finally {
            child.kill()
            await store.close()
        }
    })
})
