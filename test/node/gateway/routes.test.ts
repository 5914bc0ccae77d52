/** Registration, the read routes and the error shape, through the app in process. */
import { readFileSync } from "node:fs"
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { KeyVaultError } from "../../../tools/gateway/keyvault"
import { GatewayService } from "../../../tools/gateway/service"
import { registerDevice } from "../../../tools/gateway"
import { buildChain, testKey } from "../helpers/chains"
import { ADMIN_TOKEN, batch, get, ID, MASTER_KEY, openGateway, post, registerTestDevice, removeDir, TestGateway } from "./helpers"

const chain = buildChain(nodeCrypto, { dataBlocks: 3, perBlock: 4 })

let gw: TestGateway
beforeEach(async () => {
    gw = await openGateway()
})
afterEach(async () => {
    await gw.close()
    removeDir(gw.dir)
})

const register = (body: unknown, token: string | null = ADMIN_TOKEN) =>
    gw.app.request("/v1/devices", {
        method: "POST",
        body: typeof body === "string" ? body : JSON.stringify(body),
        headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: "Bearer " + token }) },
    })

describe("register", async () => {
    const device = { deviceId: ID, key0: testKey().toString("hex"), label: "greenhouse 1" }

    test("201 with the device, then 409 for the same id", async () => {
        const r = await register(device)
        expect(r.status).toBe(201)
        expect(await r.json()).toMatchObject({ deviceId: ID, label: "greenhouse 1", head: null, blocks: 0 })
        const again = await register(device)
        expect(again.status).toBe(409)
        expect(await again.json()).toMatchObject({ error: "already-registered" })
    })

    test.each([
        ["no token", null],
        ["a wrong token", "nope"],
        ["a token that only starts right", ADMIN_TOKEN + "x"],
    ])("401 with %s", async (_, token) => {
        const r = await register(device, token)
        expect(r.status).toBe(401)
        expect(await r.json()).toEqual({ error: "unauthorized", message: expect.any(String) })
        expect((await gw.store.counts()).devices).toBe(0)
    })

    test.each([
        ["not JSON", "{"],
        ["an array", []],
        ["a short id", { ...device, deviceId: "12ab" }],
        ["an upper-case id", { ...device, deviceId: ID.toUpperCase() }],
        ["a short key", { ...device, key0: "00" }],
        ["a label that is not a string", { ...device, label: 5 }],
    ])("400 for %s", async (_, body) => {
        const r = await register(body)
        expect(r.status).toBe(400)
        expect((await r.json()).error).toBe("bad-request")
    })

    test("registerDevice registers without HTTP, under the gateway's master key", async () => {
        await gw.close()
        await registerDevice({ db: gw.dbPath, masterKey: MASTER_KEY }, { deviceId: ID, key0: testKey().toString("hex") })
        await expect(
            registerDevice(
                { db: gw.dbPath, masterKey: Buffer.alloc(32, 1) },
                { deviceId: "0000000000000001", key0: testKey().toString("hex") }
            )
        ).rejects.toThrow(KeyVaultError)
        gw = await openGateway(gw.dir)
        expect((await gw.service.fleet()).map(d => d.deviceId)).toEqual([ID])
    })

    test("keys at rest are sealed: K_0 appears nowhere in the database files", async () => {
        const key = Buffer.alloc(32, 0xc3)
        await register({ ...device, key0: key.toString("hex") })
        gw.store.db.pragma("wal_checkpoint(TRUNCATE)")
        for (const file of [gw.dbPath, gw.dbPath + "-wal"]) {
            let bytes: Buffer
            try {
                bytes = readFileSync(file)
            } catch {
                continue
            }
            expect(bytes.includes(key)).toBe(false)
            expect(bytes.includes(Buffer.from(key.toString("hex")))).toBe(false)
        }
    })

    test("a different master key cannot open the database", async () => {
        await expect(GatewayService.open({ store: gw.store, masterKey: Buffer.alloc(32, 9) })).rejects.toThrow(KeyVaultError)
    })
})

describe("read routes", () => {
    beforeEach(async () => {
        await registerTestDevice(gw)
        // The device held 3 blocks more than it sent: they remain after the ack.
        await post(gw, batch(chain.blocks), "/v1/devices/" + ID + "/blocks?backlog=" + (chain.blocks.length + 3))
    })

    test("GET /v1/health", async () => {
        expect((await get(gw, "/v1/health")).body).toEqual({ ok: true, devices: 1 })
    })

    test("GET /v1/health counts devices only: counting every block is a scan of the largest table", async () => {
        const counts = vi.spyOn(gw.store, "counts")
        expect((await get(gw, "/v1/health")).body).toEqual({ ok: true, devices: 1 })
        expect(counts).not.toHaveBeenCalled()
    })

    test("GET /v1/devices lists the fleet", async () => {
        const { body } = await get(gw, "/v1/devices")
        expect(body.devices).toHaveLength(1)
        expect(body.devices[0]).toMatchObject({
            deviceId: ID,
            label: "test device",
            head: { seq: chain.blocks.length - 1, hash: chain.blocks[chain.blocks.length - 1].hash.toString("hex") },
            blocks: chain.blocks.length,
            readings: 12,
            reportedBacklog: 3,
            gapRecords: 1,
            readingsLost: 3,
            blocksLost: 0,
            securityEvents: 0,
        })
        expect(typeof body.devices[0].lastSeen).toBe("string")
    })

    test("GET /v1/devices/:id adds the genesis layout", async () => {
        const { body } = await get(gw, "/v1/devices/" + ID)
        expect(body).toMatchObject({
            firmware: "test/1",
            board: "sim",
            channels: [{ name: "temperature", unit: "degC", exponent: -2 }, { name: "humidity" }],
        })
    })

    test("GET /v1/devices/:id/blocks lists summaries, with a seq range", async () => {
        const { body } = await get(gw, "/v1/devices/" + ID + "/blocks")
        expect(body.blocks.map((b: any) => b.type)).toEqual(["genesis", "data", "data", "data", "gap"])
        expect(body.blocks[1]).toMatchObject({
            seq: 1,
            readings: 4,
            boot: 0,
            uptimeMs: 1000,
            hash: chain.blocks[1].hash.toString("hex").slice(0, 16),
        })
        expect(body.blocks[4]).toMatchObject({ lostReadings: 3, lostBlocks: 0 })
        const some = (await get(gw, "/v1/devices/" + ID + "/blocks?from=1&to=2")).body.blocks
        expect(some.map((b: any) => b.seq)).toEqual([1, 2])
        expect((await get(gw, "/v1/devices/" + ID + "/blocks?from=x")).status).toBe(400)
        expect(body.blocks[1].bytes).toBeUndefined()
    })

    test("GET /v1/devices/:id/blocks?bytes=1 adds each block's bytes in hex (the dashboard decrypts from them)", async () => {
        const { body } = await get(gw, "/v1/devices/" + ID + "/blocks?from=1&to=3&bytes=1")
        expect(body.blocks.map((b: any) => b.bytes)).toEqual(chain.blocks.slice(1, 4).map(b => b.bytes.toString("hex")))
        for (const bad of ["0", "true", "yes"]) {
            const refused = await get(gw, "/v1/devices/" + ID + "/blocks?bytes=" + bad)
            expect(refused.status, bad).toBe(400)
            expect(refused.body.message).toBe("bytes must be 1 (each block's bytes in hex)")
        }
    })

    test("GET /v1/devices/:id/readings decodes physical values (x * 10^exponent)", async () => {
        const { body } = await get(gw, "/v1/devices/" + ID + "/readings")
        expect(body.channels).toHaveLength(2)
        expect(body.readings).toHaveLength(12)
        expect(body.readings[0]).toEqual({ seq: 1, boot: 0, uptimeMs: 1000, values: [21, 45] })
        expect(body.readings[1]).toEqual({ seq: 1, boot: 0, uptimeMs: 2000, values: [21.07, 44.99] })
        expect(body.readings[7].values[1]).toBeNull()
    })

    test("GET /v1/devices/:id/readings?format=csv", async () => {
        const r = await get(gw, "/v1/devices/" + ID + "/readings?format=csv")
        expect(r.type).toContain("text/csv")
        const lines = r.text.trim().split("\n")
        expect(lines[0]).toBe("seq,boot,uptimeMs,unixTime,temperature (degC),humidity (%RH)")
        expect(lines[2]).toBe("1,0,2000,,21.07,44.99")
        expect(lines[8]).toBe("2,0,8000,,21.1,")
        expect(lines).toHaveLength(13)
        expect((await get(gw, "/v1/devices/" + ID + "/readings?format=xml")).status).toBe(400)
    })

    test("GET /v1/devices/:id/events is empty for a clean device", async () => {
        expect((await get(gw, "/v1/devices/" + ID + "/events")).body).toEqual({ deviceId: ID, events: [] })
    })

    test.each(["", "/blocks", "/readings", "/export", "/events"])("GET /v1/devices/<unknown>%s is a 404 with a JSON error", async path => {
        const r = await get(gw, "/v1/devices/00000000000000ff" + path)
        expect(r.status).toBe(404)
        expect(r.body).toEqual({ error: "unknown-device", message: expect.any(String) })
    })

    test("an unknown route is a JSON 404", async () => {
        const r = await get(gw, "/v2/nothing")
        expect(r.status).toBe(404)
        expect(r.body.error).toBe("not-found")
    })
})
