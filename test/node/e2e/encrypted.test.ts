/**
 * End-to-end encryption of the readings: the firmware's wiring in the simulator, provisioned as
 * `fieldledger provision --encrypt` leaves flash (test/harness/encrypted-sync-device.ts: fl_d0 then
 * fl_k0, two deterministic channels), syncs to a real gateway, which verifies and stores every
 * block without the data key. Then:
 *
 * - the gateway's database files (SQLite main file, WAL and shared memory, read as bytes) hold
 *   none of the encodings a plaintext reading of the test would take: the constant channel's
 *   stored integer 12345678 (123456.78 m at exponent -2) as the zigzag varint a data block writes
 *   for a channel's first value (so every plaintext block of this chain would contain it), as
 *   32-bit little- and big-endian integers, and as decimal text (JSON or CSV); the same search
 *   finds the varint in the decrypted blocks, so it is a search that can fail;
 * - the gateway's readings view shows counts and times but no values;
 * - `fieldledger verify --data-key` on the gateway's export shows exactly the values fed: the
 *   constant on every present reading, the counter 0, 1, 2, ... without a hole;
 * - the dashboard, signed in with a read token, shows no value until the owner gives it the data
 *   key, then (decrypting in headless Chromium) exactly those values, and the key is in none of
 *   its requests.
 *
 * Run under `flock /tmp/fl-e2e.lock` (it uses port 18797 and the simulator).
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { ByteWriter, zigzag } from "../../../src/lib/codec/bytes"
import { RECORD_DATA } from "../../../src/lib/codec/format"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { cryptFrom, decryptReadings, deriveDataKey, readingsPartAt } from "../../../src/lib/ledger/datakey"
import { nodeAesCcm0 } from "../../../tools/lib/aes"
import { nobleCrypto } from "../../../tools/lib/crypto"
import { GatewayProcess } from "../helpers/gatewayprocess"
import { firstPublicKey, runHarnessDevice } from "../helpers/harnessdevice"
import { FaultProxy } from "../helpers/faultproxy"
import { haveChromium, launchChromium } from "../helpers/chromium"
import { dashboardLink } from "../../../tools/start"

const PROXY_PORT = 18797
const DEVICE_ID = "12abdd2289421234"
/** The keys test/harness/encrypted-sync-device.ts writes to flash. */
const KEY0 = "3a7d2c9e1b4f6a8d0c2e5b7f9a1d3c6e8b0f2a4d6c8e1b3f5a7d9c2e4b6f8a01"
const DATA_KEY0 = "5c0f3e2a9b71d4e8a6c2f0b19d3e7a4c5b8e1f2d0a9c7b6e3f4a1d2c8b7e6f50"
/** The constant channel: 123456.78 m, stored as 12345678 at exponent -2. */
const CONSTANT = 123456.78
const CONSTANT_STORED = 12345678
const ADMIN_TOKEN = randomBytes(16).toString("hex")

function u32(value: number, littleEndian: boolean): Buffer {
    const b = Buffer.alloc(4)
    if (littleEndian) b.writeUInt32LE(value)
    else b.writeUInt32BE(value)
    return b
}

/** What a plaintext reading of the constant channel would put in a file. */
const PLAINTEXT_PATTERNS: [string, Buffer][] = [
    ["zigzag varint (a data block's first value)", new ByteWriter(8).varint(zigzag(CONSTANT_STORED)).finish()],
    ["int32 little-endian", u32(CONSTANT_STORED, true)],
    ["int32 big-endian", u32(CONSTANT_STORED, false)],
    ["decimal text", Buffer.from(String(CONSTANT))],
    ["decimal text of the stored integer", Buffer.from(String(CONSTANT_STORED))],
]

describe("encrypted readings: simulator firmware -> gateway (ciphertext only) -> verify --data-key", () => {
    const dir = mkdtempSync(join(tmpdir(), "fieldledger-encrypted-"))
    const proxy = new FaultProxy(PROXY_PORT, 0)
    let gateway: GatewayProcess
    let lines: string[] = []
    let exportFile = ""
    let exported: { blocks: string[] }
    let dbBytes: Buffer[] = []
    /** The data owner's key file, as provision --encrypt writes it. */
    const dataKeyFile = join(dir, "data.key")

    beforeAll(async () => {
        gateway = await GatewayProcess.launch(dir, ADMIN_TOKEN)
        proxy.upstreamPort = gateway.port
        await proxy.open()
        const device = runHarnessDevice("test/harness/encrypted-sync-device.ts")
        lines = device.lines
        // Registered as provisioning does it: K_0 and pk_0, never the data key.
        const publicKey0 = await firstPublicKey(device)
        const registered = await gateway.register({ deviceId: DEVICE_ID, key0: KEY0, label: "encrypted e2e", publicKey: publicKey0 })
        expect(registered.status).toBe(201)
        await device.exited
        const res = await gateway.admin(`/v1/devices/${DEVICE_ID}/export`)
        expect(res.status).toBe(200)
        const text = await res.text()
        exported = JSON.parse(text)
        exportFile = join(dir, "chain.json")
        writeFileSync(exportFile, text)
        // Every file SQLite keeps for the database, while the gateway still runs (the WAL holds
        // the newest pages until a checkpoint).
        const dbPath = gateway.db
        dbBytes = [dbPath, dbPath + "-wal", dbPath + "-shm"].filter(existsSync).map(p => readFileSync(p))
        writeFileSync(dataKeyFile, DATA_KEY0 + "\n", { mode: 0o600 })
    }, 180000)

    afterAll(async () => {
        await proxy.close()
        gateway?.kill()
        rmSync(dir, { recursive: true, force: true })
    })

    test("the device drained its backlog of encrypted data blocks to the gateway", () => {
        expect(
            lines.some(l => l === "fl:harness done backlog=0"),
            lines.slice(-20).join("\n")
        ).toBe(true)
        const data = exported.blocks.map(b => decodeBlock(Buffer.from(b, "hex"))).filter(b => b.header.type === RECORD_DATA)
        expect(data.length).toBeGreaterThanOrEqual(4)
        for (const b of data) expect(b.readings, "seq " + b.header.seq + " is not encrypted").toBeUndefined()
    })

    test("the gateway's database files hold none of the plaintext encodings (and the search finds them in plaintext)", () => {
        expect(dbBytes.length).toBeGreaterThanOrEqual(1)
        for (const [what, pattern] of PLAINTEXT_PATTERNS)
            for (const bytes of dbBytes) expect(bytes.indexOf(pattern), what + " found in the database").toBe(-1)
        // Control: the decrypted content of a block does contain the varint, so the search would see plaintext.
        const deviceId = Buffer.from(DEVICE_ID, "hex")
        const block = exported.blocks.map(b => decodeBlock(Buffer.from(b, "hex"))).find(b => b.header.type === RECORD_DATA)!
        const dataKey = deriveDataKey(nobleCrypto, Buffer.from(DATA_KEY0, "hex"), deviceId, block.header.seq)
        const readings = decryptReadings(nodeAesCcm0, dataKey, deviceId, block)
        expect(readings.some(r => r[0] === CONSTANT_STORED)).toBe(true)
        const plain = cryptFrom(nodeAesCcm0, dataKey, deviceId, block.header.seq, block.content, readingsPartAt(block.content))
        expect(plain.indexOf(PLAINTEXT_PATTERNS[0][1])).toBeGreaterThanOrEqual(0)
        expect(block.content.indexOf(PLAINTEXT_PATTERNS[0][1])).toBe(-1)
    })

    test("the gateway's readings view shows times and no values", async () => {
        const res = await gateway.admin(`/v1/devices/${DEVICE_ID}/readings`)
        expect(res.status).toBe(200)
        const doc = await res.json()
        expect(doc.readings.length).toBeGreaterThan(0)
        for (const r of doc.readings) {
            expect(r.encrypted).toBe(true)
            expect(r.values).toEqual([])
            expect(typeof r.uptimeMs).toBe("number")
        }
    })

    test("verify without the data key: valid, values encrypted", () => {
        const r = spawnSync(process.execPath, ["bin/fieldledger.mjs", "verify", exportFile, "--key", KEY0], { encoding: "utf8" })
        expect(r.status, r.stdout + r.stderr).toBe(0)
        expect(r.stdout).toContain("with encrypted readings")
        expect(r.stdout).not.toContain(String(CONSTANT))
    })

    test("verify --data-key shows exactly the values fed to the simulated sensors", () => {
        const r = spawnSync(
            process.execPath,
            ["bin/fieldledger.mjs", "verify", exportFile, "--key", KEY0, "--data-key", dataKeyFile, "--json"],
            {
                encoding: "utf8",
            }
        )
        expect(r.status, r.stdout + r.stderr).toBe(0)
        const doc = JSON.parse(r.stdout)
        const rows: { values: (number | null)[] }[] = doc.readings
        expect(rows.length).toBeGreaterThanOrEqual(20)
        const counts: number[] = []
        for (const row of rows) {
            if (row.values[0] !== null) expect(row.values[0]).toBe(CONSTANT)
            if (row.values[1] !== null) counts.push(row.values[1])
        }
        // The counter is read once per present reading: 0, 1, 2, ... in order, nothing altered.
        expect(counts.length).toBeGreaterThanOrEqual(20)
        expect(counts).toEqual(counts.map((_, i) => i))
    })

    test.skipIf(!haveChromium("the encrypted e2e dashboard test"))(
        "the dashboard decrypts in the browser with the owner's key file and shows exactly those values",
        async () => {
            const tokenFile = join(dir, "read.token")
            const created = spawnSync(
                process.execPath,
                [
                    "bin/fieldledger.mjs",
                    "gateway",
                    "token",
                    "create",
                    "--read",
                    "--devices",
                    DEVICE_ID,
                    "--label",
                    "owner",
                    "--token-file",
                    tokenFile,
                    "--db",
                    gateway.db,
                ],
                { encoding: "utf8" }
            )
            expect(created.status, created.stdout + created.stderr).toBe(0)
            const token = readFileSync(tokenFile, "utf8").trim()
            const { context, page } = await launchChromium(join(dir, "profile"))
            const sent: string[] = []
            page.on("request", r => sent.push(r.url() + " " + JSON.stringify(r.headers()) + " " + (r.postData() ?? "")))
            const settled = { timeout: 60000, interval: 200 }
            const present = (channel: number) =>
                page.evaluate(c => ((window as any).fieldledger.plots[c]?.data[1] ?? []).filter((v: unknown) => v !== null), channel)
            try {
                await page.goto(dashboardLink(gateway.url(""), token))
                await page.goto(gateway.url("/devices/" + DEVICE_ID))
                await page.locator("#data-key-form").waitFor({ timeout: 60000 })
                await expect.poll(() => page.locator("#readings-title").textContent(), settled).toContain("encrypted end to end")
                expect(await present(0)).toEqual([])

                await page.locator("#data-key-file").setInputFiles(dataKeyFile)
                await page.locator("#data-key-form button[type=submit]").click()
                await expect.poll(() => page.locator("#readings-title").textContent(), settled).toContain("decrypted in this browser")
                const constant: number[] = await present(0)
                const counts: number[] = await present(1)
                // Exactly what the sensors were fed, as verify --data-key shows it.
                expect(constant.length).toBeGreaterThanOrEqual(20)
                expect(new Set(constant)).toEqual(new Set([CONSTANT]))
                expect(counts.length).toBeGreaterThanOrEqual(20)
                expect(counts).toEqual(counts.map((_, i) => i))
                const verified = spawnSync(
                    process.execPath,
                    ["bin/fieldledger.mjs", "verify", exportFile, "--key", KEY0, "--data-key", dataKeyFile, "--json"],
                    { encoding: "utf8" }
                )
                const rows: { values: (number | null)[] }[] = JSON.parse(verified.stdout).readings
                expect(counts).toEqual(rows.map(r => r.values[1]).filter(v => v !== null))
                expect(sent.filter(r => r.toLowerCase().includes(DATA_KEY0))).toEqual([])
            } finally {
                await context.close()
            }
        },
        120000
    )
})
