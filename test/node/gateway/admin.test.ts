/**
 * The admin routes behind one bearer middleware: registration and key succession need the
 * token, every read route under the same paths stays open, and a succession checks its genesis
 * with the service's crypto.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { newChainHead } from "../../../src/lib/ledger/chain"
import { Ledger } from "../../../src/lib/ledger/ledger"
import { LedgerCrypto } from "../../../src/lib/ledger/keys"
import { bearerToken } from "../../../tools/gateway/adminauth"
import { createGatewayApp } from "../../../tools/gateway/app"
import { GatewayService } from "../../../tools/gateway/service"
import { SqliteStore } from "../../../tools/gateway/store"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, CHANNELS, DEVICE_ID, testKey } from "../helpers/chains"
import {
    ADMIN_TOKEN,
    batch,
    get,
    ID,
    MASTER_KEY,
    NOW,
    openGateway,
    post,
    readHeaders,
    registerTestDevice,
    removeDir,
    TestGateway,
} from "./helpers"

const chain = buildChain(nodeCrypto, { dataBlocks: 2 })
const NEW_KEY = testKey(0x77)

/** The successor chain's genesis: sealed under NEW_KEY, linking to the old chain's head. */
function successorGenesis(link = chain.blocks[chain.blocks.length - 1].hash, key = NEW_KEY) {
    const ledger = new Ledger(nodeCrypto, DEVICE_ID, CHANNELS, newChainHead(Buffer.from(key), link), {
        intervalMs: 1000,
        maxReadingsPerBlock: 8,
    })
    return ledger.sealGenesis({ boot: 5, uptimeMs: 0 }, "test/2", "sim").bytes
}

let gw: TestGateway
beforeEach(async () => {
    gw = await openGateway()
    await registerTestDevice(gw)
    expect((await post(gw, batch(chain.blocks))).status).toBe(200)
})
afterEach(async () => {
    await gw.close()
    removeDir(gw.dir)
})

const succession = (body: unknown, token: string | null = ADMIN_TOKEN, id = ID) =>
    gw.app.request("/v1/devices/" + id + "/succession", {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: "Bearer " + token }) },
    })

describe("admin routes", () => {
    test.each([
        ["no token", null],
        ["a wrong token", "nope"],
        ["a token that only starts right", ADMIN_TOKEN + "x"],
    ])("succession with %s is a 401 with a bearer challenge, and changes nothing", async (_, token) => {
        const r = await succession({ key0: NEW_KEY.toString("hex"), genesis: successorGenesis().toString("hex") }, token)
        expect(r.status).toBe(401)
        expect(r.headers.get("www-authenticate")).toMatch(/^Bearer /)
        expect(await r.json()).toEqual({ error: "unauthorized", message: expect.any(String) })
        expect((await gw.service.fleet())[0]).toMatchObject({ head: { seq: chain.blocks.length - 1 } })
    })

    test("succession with the token closes the chain; the successor genesis is then ingested as seq 0", async () => {
        const genesis = successorGenesis()
        const r = await succession({ key0: NEW_KEY.toString("hex"), genesis: genesis.toString("hex") })
        expect(r.status).toBe(201)
        expect(await r.json()).toMatchObject({
            deviceId: ID,
            closedChain: 1,
            closedHead: { seq: chain.blocks.length - 1 },
            linkMatches: true,
        })
        expect((await post(gw, batch([genesis]))).body).toMatchObject({ ack: 0, stored: 1 })
        expect((await get(gw, "/v1/devices/" + ID + "/events")).body.events.map((e: any) => e.kind)).toEqual(["key-succession"])
    })

    test("succession of an unknown device is a 404 with the token, a 401 without", async () => {
        const body = { key0: NEW_KEY.toString("hex"), genesis: successorGenesis().toString("hex") }
        expect((await succession(body, ADMIN_TOKEN, "00000000000000ff")).status).toBe(404)
        expect((await succession(body, null, "00000000000000ff")).status).toBe(401)
    })

    test("GET /v1/health stays open, without the device count", async () => {
        const r = await gw.app.request("/v1/health")
        expect(r.status).toBe(200)
        expect(await r.json()).toEqual({ ok: true })
    })

    test.each([
        "/v1/devices",
        "/v1/devices/" + ID,
        "/v1/devices/" + ID + "/blocks",
        "/v1/devices/" + ID + "/readings",
        "/v1/devices/" + ID + "/export",
        "/v1/devices/" + ID + "/events",
        "/v1/devices/" + ID + "/gaps",
        "/dashboard/api/fleet",
        "/",
    ])("GET %s needs a read credential: 401 without, 200 with a read token or the admin token", async path => {
        expect((await gw.app.request(path)).status).toBe(401)
        expect((await gw.app.request(path, { headers: readHeaders(gw) })).status).toBe(200)
        expect((await gw.app.request(path, { headers: { authorization: "Bearer " + ADMIN_TOKEN } })).status).toBe(200)
    })

    test("a device's sync needs no token", async () => {
        expect((await post(gw, batch(chain.blocks))).status).toBe(200)
    })

    test("a gateway without an admin token refuses every admin request, even one with an empty bearer", async () => {
        const app = createGatewayApp({ service: gw.service, log: () => {} })
        for (const authorization of [undefined, "Bearer ", "Bearer undefined"]) {
            const r = await app.request("/v1/devices", {
                method: "POST",
                body: JSON.stringify({ deviceId: "00000000000000aa", key0: testKey().toString("hex") }),
                headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
            })
            expect(r.status).toBe(401)
        }
        expect((await gw.store.counts()).devices).toBe(1)
    })

    test("the scheme's name is case-insensitive; the token is not", () => {
        expect(bearerToken("bearer abc")).toBe("abc")
        expect(bearerToken("BEARER abc")).toBe("abc")
        expect(bearerToken("Basic abc")).toBeUndefined()
        expect(bearerToken("Bearer")).toBeUndefined()
        expect(bearerToken("Bearer   ")).toBeUndefined()
    })
})

describe("succession crypto", () => {
    test("the genesis tag is checked with the service's crypto", async () => {
        let hmacs = 0
        const counting: LedgerCrypto = {
            ...nodeCrypto,
            hmacSha256: (key, data) => {
                hmacs++
                return nodeCrypto.hmacSha256(key, data)
            },
        }
        await gw.close()
        const store = new SqliteStore(gw.dbPath)
        const service = await GatewayService.open({ store, masterKey: MASTER_KEY, crypto: counting, now: () => NOW })
        const app = createGatewayApp({ service, adminToken: ADMIN_TOKEN, log: () => {} })
        gw = { ...gw, store, service, app, close: () => store.close() }
        hmacs = 0
        // A genesis under another key: refused, after a tag computed by the injected crypto.
        const r = await succession({ key0: NEW_KEY.toString("hex"), genesis: successorGenesis(undefined, testKey(0x78)).toString("hex") })
        expect(r.status).toBe(422)
        expect((await r.json()).error).toBe("bad-tag")
        expect(hmacs).toBeGreaterThan(0)
    })
})
