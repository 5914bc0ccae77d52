/**
 * What the gateway answers to input it refuses: replies stay small whatever was sent (error
 * messages quote at most MAX_ECHO_CHARS of it), labels must be text, a batch must be sent as
 * application/octet-stream and framed as docs/API.md says.
 */
import { describe, expect, test } from "vitest"
import { echo, MAX_ECHO_CHARS } from "../../../tools/gateway/errors"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, testKey } from "../helpers/chains"
import { ADMIN_TOKEN, batch, gatewayPerTest, ID, NONCE, post, readHeaders } from "./helpers"

const chain = buildChain(nodeCrypto, { dataBlocks: 2 })
const LONG = "a".repeat(10240)

const gw = gatewayPerTest()

const admin = (path: string, body: unknown) =>
    gw.app.request(path, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json", authorization: "Bearer " + ADMIN_TOKEN },
    })

describe("replies quote at most MAX_ECHO_CHARS of what was sent", () => {
    test("echo keeps short text and cuts long text with an ellipsis, never inside a surrogate pair", () => {
        expect(echo("12abdd2289421234")).toBe("12abdd2289421234")
        expect(echo(LONG)).toBe("a".repeat(MAX_ECHO_CHARS - 1) + "…")
        const emoji = echo("😀".repeat(100))
        expect(Array.from(emoji)).toHaveLength(MAX_ECHO_CHARS)
        expect(emoji.endsWith("😀…")).toBe(true)
    })

    const routes: [string, () => Response | Promise<Response>][] = [
        ["GET /v1/devices/<10 KB id>", () => gw.app.request("/v1/devices/" + LONG, { headers: readHeaders(gw) })],
        ["GET .../blocks", () => gw.app.request("/v1/devices/" + LONG + "/blocks", { headers: readHeaders(gw) })],
        ["GET .../readings", () => gw.app.request("/v1/devices/" + LONG + "/readings", { headers: readHeaders(gw) })],
        ["GET .../export", () => gw.app.request("/v1/devices/" + LONG + "/export", { headers: readHeaders(gw) })],
        ["GET .../events", () => gw.app.request("/v1/devices/" + LONG + "/events", { headers: readHeaders(gw) })],
        ["GET .../gaps", () => gw.app.request("/v1/devices/" + LONG + "/gaps", { headers: readHeaders(gw) })],
        [
            "POST .../blocks",
            () =>
                gw.app.request("/v1/devices/" + LONG + "/blocks", {
                    method: "POST",
                    body: new Uint8Array(batch(chain.blocks)),
                    headers: { "content-type": "application/octet-stream" },
                }),
        ],
        [
            "POST .../succession",
            () =>
                admin("/v1/devices/" + LONG + "/succession", {
                    key0: testKey().toString("hex"),
                    genesis: chain.blocks[0].bytes.toString("hex"),
                }),
        ],
        ["an unknown route", () => gw.app.request("/v2/" + LONG, { headers: readHeaders(gw) })],
        [
            "GET /dashboard/api/devices/<10 KB id>/gaps",
            () => gw.app.request("/dashboard/api/devices/" + LONG + "/gaps", { headers: readHeaders(gw) }),
        ],
        ["POST /v1/devices with a 10 KB id", () => admin("/v1/devices", { deviceId: LONG, key0: testKey().toString("hex") })],
        [
            "POST /v1/devices with a 10 KB label",
            () => admin("/v1/devices", { deviceId: "00000000000000aa", key0: testKey().toString("hex"), label: LONG }),
        ],
        [
            "a 10 KB backlog",
            () =>
                post(gw, batch(chain.blocks), "/v1/devices/" + ID + "/blocks?backlog=" + "9".repeat(10240)).then(
                    r => new Response(JSON.stringify(r.body), { status: r.status })
                ),
        ],
        ["a 10 KB seq", () => gw.app.request("/v1/devices/" + ID + "/blocks?from=" + "9".repeat(10240), { headers: readHeaders(gw) })],
    ]
    test.each(routes)("%s: a reply under 1 KB", async (_, request) => {
        const r = await request()
        expect(r.status).toBeGreaterThanOrEqual(400)
        const text = await r.text()
        expect(text.length).toBeLessThan(1024)
        expect(JSON.parse(text).error).toEqual(expect.any(String))
    })
})

describe("labels", () => {
    test.each([
        ["a lone high surrogate", "pump \ud800"],
        ["a lone low surrogate", "\udc00 pump"],
        ["a pair reversed", "\udc00\ud800"],
    ])("%s is refused with 400, nothing stored", async (_, label) => {
        const r = await admin("/v1/devices", { deviceId: "00000000000000aa", key0: testKey().toString("hex"), label })
        expect(r.status).toBe(400)
        expect((await r.json()).error).toBe("bad-request")
        expect((await gw.store.counts()).devices).toBe(1)
    })

    test("well-formed text outside the BMP is stored and read back as given", async () => {
        const label = "serre 🌱 n°2"
        expect((await admin("/v1/devices", { deviceId: "00000000000000aa", key0: testKey().toString("hex"), label })).status).toBe(201)
        expect((await (await gw.app.request("/v1/devices/00000000000000aa", { headers: readHeaders(gw) })).json()).label).toBe(label)
    })
})

describe("sync requests", () => {
    const send = (contentType?: string) =>
        gw.app.request("/v1/devices/" + ID + "/blocks", {
            method: "POST",
            body: new Uint8Array(batch(chain.blocks)),
            headers: contentType ? { "content-type": contentType } : {},
        })

    test.each([
        ["none", undefined],
        ["text/plain", "text/plain"],
        ["a form", "application/x-www-form-urlencoded"],
        ["JSON", "application/json"],
    ])("content type %s: 415 unsupported-media-type, nothing stored", async (_, type) => {
        const r = await send(type)
        expect(r.status).toBe(415)
        expect((await r.json()).error).toBe("unsupported-media-type")
        expect((await gw.store.counts()).blocks).toBe(0)
    })

    test("application/octet-stream in any case, with parameters, is a batch", async () => {
        expect((await send("Application/Octet-Stream; charset=binary")).status).toBe(200)
    })

    test.each([201, 255])("a length byte of %i is a malformed batch (400), not a malformed block, and stores nothing", async length => {
        // The genesis block, then a length byte no block can have, followed by that many bytes.
        const body = Buffer.concat([batch([chain.blocks[0]]), Buffer.from([length]), Buffer.alloc(length, 1)])
        const r = await post(gw, body)
        expect(r.status).toBe(400)
        expect(r.body).toMatchObject({ error: "malformed-batch", ack: -1 })
        expect((await gw.store.counts()).blocks).toBe(0)
    })

    test("a length byte of 200 frames a block: a bad one is a malformed block (422) after the valid prefix", async () => {
        const body = Buffer.concat([batch([chain.blocks[0]], NONCE), Buffer.from([200]), Buffer.alloc(200, 1)])
        const r = await post(gw, body)
        expect(r.status).toBe(422)
        expect(r.body).toMatchObject({ error: "malformed-block", stored: 1 })
    })
})
