/**
 * Who may read (tools/gateway/readauth.ts, signin.ts, tokens.ts): every route of the app,
 * enumerated from the app itself, answers 401 to a reader without a credential unless it is
 * one of the few routes that are not reads; read tokens, revoked tokens, tokens limited to some
 * devices, the admin token, --public-read, and the dashboard's sign-in cookie.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { createGatewayApp } from "../../../tools/gateway/app"
import { isPublicPath, READ_COOKIE, ROUTE_ACCESS } from "../../../tools/gateway/readauth"
import { SESSION_DAYS } from "../../../tools/gateway/signin"
import { createReadToken } from "../../../tools/gateway/tokencli"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, OTHER_DEVICE_ID, testKey } from "../helpers/chains"
import { ADMIN_TOKEN, batch, ID, openGateway, post, registerTestDevice, removeDir, TestGateway } from "./helpers"

const OTHER = OTHER_DEVICE_ID.toString("hex")

/** The routes that answer without a read credential, and why: a change here is a decision (docs/API.md, "Access"). */
const NOT_READ_ROUTES = {
    "POST /v1/devices/:id/blocks": "device",
    "GET /v1/admin/check": "admin",
    "POST /v1/devices": "admin",
    "POST /v1/devices/:id/succession": "admin",
    "GET /signin": "session",
    "POST /signin": "session",
    "POST /signout": "session",
    "GET /v1/health": "public",
}

type Route = { method: string; path: string }

/** Every route the app registered (middleware excluded), once each. */
function appRoutes(gw: TestGateway): Route[] {
    const seen = new Map<string, Route>()
    for (const r of gw.app.routes) if (r.method !== "ALL") seen.set(r.method + " " + r.path, { method: r.method, path: r.path })
    return [...seen.values()]
}

/** A request path for a route: `:id` is the device, other parameters a plausible value. */
function concrete(path: string, id = ID): string {
    return path
        .replace(":id", id)
        .replace(/:file$/, "app.js")
        .replace(/:[a-z]+/g, "1")
        .replace("*", "x")
}

function isReadRoute(r: Route): boolean {
    const key = r.method + " " + r.path
    return !(key in NOT_READ_ROUTES) && !isPublicPath(r.path)
}

async function request(gw: { app: TestGateway["app"] }, r: Route, headers: Record<string, string> = {}, id = ID) {
    const init: RequestInit = { method: r.method, headers }
    if (r.method !== "GET" && r.method !== "HEAD") init.body = ""
    const res = await gw.app.request(concrete(r.path, id), init)
    // A stream (the dashboard's) is cut at its first bytes: only the status matters here.
    await res.body?.cancel()
    return res
}

const bearer = (token: string) => ({ authorization: "Bearer " + token })
const cookie = (token: string) => ({ cookie: READ_COOKIE + "=" + token })

let gw: TestGateway
let token: string
beforeEach(async () => {
    gw = await openGateway()
    await registerTestDevice(gw)
    await registerTestDevice(gw, testKey(0x33), OTHER)
    expect((await post(gw, batch(buildChain(nodeCrypto).blocks))).status).toBe(200)
    expect(
        (
            await post(
                gw,
                batch(buildChain(nodeCrypto, { deviceId: OTHER_DEVICE_ID, key: testKey(0x33) }).blocks),
                "/v1/devices/" + OTHER + "/blocks"
            )
        ).status
    ).toBe(200)
    token = gw.readToken
})
afterEach(async () => {
    await gw.close()
    removeDir(gw.dir)
})

describe("every read route needs a credential", () => {
    test("the app's routes that are not reads are exactly the ones decided (readauth.ts ROUTE_ACCESS)", () => {
        const routes = new Set(appRoutes(gw).map(r => r.method + " " + r.path))
        for (const key of Object.keys(NOT_READ_ROUTES)) expect(routes, key + " is a route of the app").toContain(key)
        const exempt = Object.entries(ROUTE_ACCESS).filter(([, access]) => access !== "read" && access !== "page")
        expect(Object.fromEntries(exempt)).toEqual(NOT_READ_ROUTES)
        // Enough routes found that the walk below means something.
        expect(appRoutes(gw).filter(isReadRoute).length).toBeGreaterThanOrEqual(14)
    })

    test("without a token, with a malformed or unknown one, and with the admin token in a cookie: 401 from every read route", async () => {
        const unknown = (await createReadToken(gw.store, {})).token.replace(/.$/, c => (c === "A" ? "B" : "A"))
        for (const r of appRoutes(gw).filter(isReadRoute))
            for (const headers of [
                {},
                bearer("nonsense"),
                bearer(unknown),
                { authorization: "Basic eDp5" },
                cookie(unknown),
                cookie(ADMIN_TOKEN),
            ]) {
                const res = await request(gw, r, headers)
                expect(res.status, r.method + " " + r.path + " with " + JSON.stringify(headers)).toBe(401)
            }
    })

    test("with a read token (bearer or cookie) or the admin token (bearer): no read route answers 401", async () => {
        for (const r of appRoutes(gw).filter(isReadRoute))
            for (const headers of [bearer(token), cookie(token), bearer(ADMIN_TOKEN)]) {
                const res = await request(gw, r, headers)
                expect(res.status, r.method + " " + r.path + " with " + JSON.stringify(headers)).not.toBe(401)
                expect(res.status, r.method + " " + r.path).toBeLessThan(500)
            }
    })

    test("a revoked token gets 401 from every read route", async () => {
        const { token: t, id } = await createReadToken(gw.store, { label: "to revoke" })
        expect((await gw.app.request("/v1/devices", { headers: bearer(t) })).status).toBe(200)
        expect(await gw.store.tokens.revoke(id, Date.now())).toBe("revoked")
        for (const r of appRoutes(gw).filter(isReadRoute)) {
            expect((await request(gw, r, bearer(t))).status, r.path).toBe(401)
            expect((await request(gw, r, cookie(t))).status, r.path).toBe(401)
        }
        expect(await gw.store.tokens.revoke(id, Date.now())).toBe("already-revoked")
        expect((await gw.store.tokens.list()).find(x => x.id === id)?.revokedAt).not.toBeNull()
    })

    test("--public-read opens every read route without a token", async () => {
        const app = createGatewayApp({ service: gw.service, adminToken: ADMIN_TOKEN, publicRead: true, log: () => {} })
        for (const r of appRoutes(gw).filter(isReadRoute)) {
            const res = await request({ app }, r)
            expect(res.status, r.method + " " + r.path).not.toBe(401)
        }
        expect(await (await app.request("/v1/health")).json()).toEqual({ ok: true, devices: 2 })
    })

    test("a 401 names the scheme (WWW-Authenticate) and says how to get a token; a dashboard page answers with the sign-in form", async () => {
        const api = await gw.app.request("/v1/devices/" + ID + "/readings")
        expect(api.headers.get("www-authenticate")).toBe('Bearer realm="fieldledger read"')
        expect((await api.json()).message).toContain("token create --read")
        const page = await gw.app.request("/devices/" + ID)
        expect(page.status).toBe(401)
        expect(page.headers.get("content-type")).toContain("text/html")
        const html = await page.text()
        expect(html).toContain('action="/signin"')
        expect(html).toContain('name="next" value="/devices/' + ID + '"')
        expect(html).not.toContain("temperature")
    })

    test("the health route is public but counts devices only for a reader of every device", async () => {
        expect(await (await gw.app.request("/v1/health")).json()).toEqual({ ok: true })
        expect(await (await gw.app.request("/v1/health", { headers: bearer(token) })).json()).toEqual({ ok: true, devices: 2 })
        const limited = (await createReadToken(gw.store, { devices: [ID] })).token
        expect(await (await gw.app.request("/v1/health", { headers: bearer(limited) })).json()).toEqual({ ok: true })
    })
})

describe("a token limited to some devices", () => {
    let limited: string
    beforeEach(async () => {
        limited = (await createReadToken(gw.store, { devices: [ID], label: "one device" })).token
    })

    test("sees only its devices in the fleet (API and dashboard)", async () => {
        const fleet = await (await gw.app.request("/v1/devices", { headers: bearer(limited) })).json()
        expect(fleet.devices.map((d: any) => d.deviceId)).toEqual([ID])
        const dash = await (await gw.app.request("/dashboard/api/fleet", { headers: cookie(limited) })).json()
        expect(dash.devices.map((d: any) => d.deviceId)).toEqual([ID])
        // The live stream too.
        const stream = await gw.app.request("/dashboard/api/stream", { headers: cookie(limited) })
        const reader = stream.body!.getReader()
        let text = ""
        while (!/event: fleet\ndata: .*\n/.test(text)) {
            const { done, value } = await reader.read()
            if (done) throw new Error("the stream ended before its first fleet message: " + text)
            text += new TextDecoder().decode(value)
        }
        await reader.cancel()
        const first = JSON.parse(/event: fleet\ndata: (.*)\n/.exec(text)![1])
        expect(first.devices.map((d: any) => d.deviceId)).toEqual([ID])
        const all = await (await gw.app.request("/v1/devices", { headers: bearer(token) })).json()
        expect(all.devices.map((d: any) => d.deviceId).sort()).toEqual([OTHER, ID].sort())
    })

    test("every read route of another device answers 404 unknown-device, as for one not registered; its own answer", async () => {
        const deviceRoutes = appRoutes(gw).filter(r => isReadRoute(r) && r.path.includes(":id") && ROUTE_ACCESS["GET " + r.path] !== "page")
        expect(deviceRoutes.length).toBeGreaterThanOrEqual(7)
        for (const r of deviceRoutes) {
            const other = await request(gw, r, bearer(limited), OTHER)
            expect(other.status, r.path).toBe(404)
            const unregistered = await gw.app.request(concrete(r.path, "00000000000000aa"), { headers: bearer(token) })
            const body = await gw.app.request(concrete(r.path, OTHER), { headers: bearer(limited) })
            expect((await body.json()).error, r.path).toBe("unknown-device")
            expect(unregistered.status, r.path).toBe(404)
            expect((await request(gw, r, bearer(limited), ID)).status, r.path).toBe(200)
        }
    })
})

describe("signing in to the dashboard", () => {
    const cookieOf = (res: Response) => res.headers.get("set-cookie") ?? ""

    test("the link /signin?token= sets an HttpOnly, SameSite=Strict cookie on / and redirects to a URL without the token", async () => {
        const res = await gw.app.request("/signin?token=" + encodeURIComponent(token))
        expect(res.status).toBe(303)
        expect(res.headers.get("location")).toBe("/")
        const set = cookieOf(res)
        expect(set).toContain(READ_COOKIE + "=" + token)
        expect(set).toMatch(/; HttpOnly/)
        expect(set).toMatch(/; SameSite=Strict/)
        expect(set).toMatch(/; Path=\//)
        expect(set).toContain("Max-Age=" + SESSION_DAYS * 24 * 3600)
        expect(set).not.toMatch(/; Secure/)
        expect(res.headers.get("cache-control")).toBe("no-store")
        expect(res.headers.get("referrer-policy")).toBe("no-referrer")
    })

    test("the cookie is Secure when the request came over https (directly or as a proxy says)", async () => {
        const direct = await gw.app.request("https://gw.example/signin?token=" + token)
        expect(cookieOf(direct)).toMatch(/; Secure/)
        const proxied = await gw.app.request("/signin?token=" + token, { headers: { "x-forwarded-proto": "https" } })
        expect(cookieOf(proxied)).toMatch(/; Secure/)
    })

    test("the form posts the token and goes back where the reader was; a bad token, the admin token or another site's post sets nothing", async () => {
        const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
            gw.app.request("/signin", {
                method: "POST",
                body: new URLSearchParams(fields).toString(),
                headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
            })
        const ok = await form({ token, next: "/devices/" + ID })
        expect(ok.status).toBe(303)
        expect(ok.headers.get("location")).toBe("/devices/" + ID)
        expect(cookieOf(ok)).toContain(READ_COOKIE + "=" + token)
        for (const bad of [{ token: "flr_" + "A".repeat(43) }, { token: ADMIN_TOKEN }, { token: "" }]) {
            const res = await form(bad)
            expect(res.status).toBe(401)
            expect(cookieOf(res)).toBe("")
            expect(await res.text()).toContain("not a valid read token")
        }
        for (const headers of [{ origin: "https://evil.example", host: "localhost" }, { "sec-fetch-site": "cross-site" }]) {
            const cross = await form({ token }, headers)
            expect(cross.status).toBe(403)
            expect(cookieOf(cross)).toBe("")
        }
        // A same-origin post from a no-referrer page says Origin: null; Sec-Fetch-Site tells.
        expect((await form({ token }, { origin: "null", "sec-fetch-site": "same-origin" })).status).toBe(303)
        for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example", "/signin?token=x"])
            expect((await form({ token, next })).headers.get("location"), next).toBe("/")
    })

    test("sign-out clears the cookie and goes back to the form", async () => {
        const res = await gw.app.request("/signout", { method: "POST", headers: cookie(token) })
        expect(res.status).toBe(303)
        expect(res.headers.get("location")).toBe("/signin")
        expect(cookieOf(res)).toMatch(new RegExp("^" + READ_COOKIE + "=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"))
    })

    test("GET /dashboard/api/session says who reads", async () => {
        const limited = await createReadToken(gw.store, { devices: [ID], label: "kitchen" })
        expect(await (await gw.app.request("/dashboard/api/session", { headers: cookie(limited.token) })).json()).toEqual({
            access: "token",
            tokenId: limited.id,
            label: "kitchen",
            devices: [ID],
        })
        expect(await (await gw.app.request("/dashboard/api/session", { headers: bearer(ADMIN_TOKEN) })).json()).toEqual({ access: "admin" })
        expect((await gw.app.request("/dashboard/api/session")).status).toBe(401)
    })

    test("the dashboard's stream ends with signed-out once its token is revoked", async () => {
        const app = createGatewayApp({ service: gw.service, adminToken: ADMIN_TOKEN, heartbeatMs: 20, log: () => {} })
        const { token: t, id } = await createReadToken(gw.store, {})
        const res = await app.request("/dashboard/api/stream", { headers: cookie(t) })
        expect(res.status).toBe(200)
        const reader = res.body!.getReader()
        let text = ""
        const until = async (what: string) => {
            const deadline = Date.now() + 20000
            while (!text.includes(what)) {
                if (Date.now() > deadline) throw new Error("waited 20 s for '" + what + "' on the stream; got: " + text.slice(-300))
                const { done, value } = await reader.read()
                if (done) break
                text += new TextDecoder().decode(value)
            }
            return text.includes(what)
        }
        expect(await until("event: fleet")).toBe(true)
        await gw.store.tokens.revoke(id, Date.now())
        expect(await until("event: signed-out")).toBe(true)
        // The stream ended after it.
        for (;;) {
            const { done } = await reader.read()
            if (done) break
        }
    })
})
