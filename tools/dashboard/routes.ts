/**
 * The operators' dashboard (issue 7): a read-only web page served by the gateway. Static
 * ES modules from ./public, uPlot from node_modules, and a few read routes of its own that build
 * on the gateway's read API through `app.request` (no store access, nothing that writes):
 *
 *   GET /                                 fleet view (public/index.html)
 *   GET /devices/:id                      device view (the same page; app.js reads the path)
 *   GET /dashboard/:file                  the page's modules and stylesheet
 *   GET /dashboard/decrypt.js             browser/decrypt.ts and the shared codec, bundled (bundle.ts)
 *   GET /dashboard/vendor/:file           uPlot's ES module and stylesheet
 *   GET /dashboard/api/fleet              {now, staleAfterMs, devices} (devices as GET /v1/devices)
 *   GET /dashboard/api/stream             the same payload as server-sent events, on every change
 *   GET /dashboard/api/devices/:id/gaps   the device's gap records with their reasons
 *
 * Gap records come from the gateway's gap index (GET /v1/devices/:id/gaps), read again only
 * when a device's head moves: the fleet view never decodes a chain.
 */
import type { Hono } from "hono"
import { streamSSE } from "hono/streaming"
import { readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { extname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { DEVICE_ID_TEXT, isDeviceIdHex } from "../../src/lib/codec/hexids"
import { INTERNAL_READ_ENV, Reader, readerOf, stillValid, visible } from "../gateway/readauth"
import type { GapView } from "../gateway/service"
import type { ReadTokenStore } from "../gateway/tokens"
import { decryptModule } from "./bundle"

/** The base staleness threshold: `fieldledger gateway --stale-after` changes it. */
export const DEFAULT_STALE_AFTER_MS = 15 * 60 * 1000

export interface DashboardOptions {
    /**
     * A device not seen for this long plus twice its block period (`blockPeriodMs`, how often it
     * seals and so syncs) shows as stale; this long alone while its period is unknown. Default
     * DEFAULT_STALE_AFTER_MS. The page applies it (public/model.js, staleThresholdMs).
     */
    staleAfterMs?: number
    /** The stream re-sends an unchanged fleet this often, so states age on open pages (default 30 s). */
    heartbeatMs?: number
    /** How often the event stream looks for changes (default 1000 ms). */
    pollMs?: number
    /** Clock in unix milliseconds (tests fix it). */
    now?: () => number
    /** The read tokens: a stream asks again on each message whether its token still stands. */
    tokens?: ReadTokenStore
}

/** A gap record as GET /v1/devices/:id/gaps gives it. */
export type GapRecord = GapView

const TYPES: Record<string, string> = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
/**
 * Scripts only from this origin; styles may be inline because uPlot sets element styles. The
 * page talks only to its own gateway and cannot be framed.
 */
const SECURITY_HEADERS = {
    "content-security-policy":
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}

/** Reads every file of a folder once, by name: requests can only name these. */
function loadAssets(dir: string, names?: string[]): Map<string, { body: string; type: string }> {
    const assets = new Map<string, { body: string; type: string }>()
    for (const name of names ?? readdirSync(dir)) {
        const type = TYPES[extname(name)]
        if (type) assets.set(name, { body: readFileSync(join(dir, name), "utf8"), type })
    }
    return assets
}

async function readJson(app: Hono, path: string): Promise<any> {
    // The gateway's own request (readauth.ts): it reads everything; what goes out is filtered per reader.
    const res = await app.request(path, undefined, INTERNAL_READ_ENV)
    if (!res.ok) throw new Error("GET " + path + " answered " + res.status)
    return res.json()
}

/** Mounts the dashboard on the gateway's app. Call once, after the API routes. */
export function registerDashboard(app: Hono, options: DashboardOptions = {}): void {
    servePage(app)
    const gapsOf = gapReader(app)
    const fleet = fleetReader(app, gapsOf, { staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS, now: options.now ?? Date.now })
    const heartbeatMs = options.heartbeatMs ?? 30000
    app.get("/dashboard/api/fleet", async c => c.json(forReader(readerOf(c), await fleet())))
    serveFleetStream(app, fleetPoller(fleet, { pollMs: options.pollMs ?? 1000, heartbeatMs }), { heartbeatMs, tokens: options.tokens })
    serveGaps(app, gapsOf)
}

/** The page (fleet and device views are one page), its modules and stylesheet, and uPlot's. */
function servePage(app: Hono) {
    const publicDir = fileURLToPath(new URL("./public/", import.meta.url))
    const uplotDir = join(createRequire(import.meta.url).resolve("uplot/dist/uPlot.esm.js"), "..")
    const pages = loadAssets(publicDir)
    const vendor = loadAssets(uplotDir, ["uPlot.esm.js", "uPlot.min.css"])
    const send = (asset: { body: string; type: string } | undefined) =>
        asset ? new Response(asset.body, { headers: { "content-type": asset.type, ...SECURITY_HEADERS } }) : undefined
    const page = () => send(pages.get("index.html"))

    app.get("/", () => page())
    app.get("/devices/:id", () => page())
    app.get("/dashboard/vendor/:file", c => send(vendor.get(c.req.param("file"))) ?? c.notFound())
    // The in-browser decryption of encrypted readings (bundled on first request, then from memory).
    app.get("/dashboard/decrypt.js", async () => send({ body: await decryptModule(), type: TYPES[".js"] }))
    app.get(
        "/dashboard/:file",
        c => (c.req.param("file") === "index.html" ? undefined : send(pages.get(c.req.param("file")))) ?? c.notFound()
    )
}

type GapsOf = (id: string, head: { seq: number; hash: string } | null) => Promise<GapRecord[]>

/** A device's gap records from the gateway's gap index, read again only when its head moved. */
function gapReader(app: Hono): GapsOf {
    const cache = new Map<string, { head: string; gaps: GapRecord[] }>()
    return async (id, head) => {
        const key = head ? head.seq + ":" + head.hash : "-"
        const cached = cache.get(id)
        if (cached && cached.head === key) return cached.gaps
        const gaps: GapRecord[] = (await readJson(app, "/v1/devices/" + id + "/gaps")).gaps
        cache.set(id, { head: key, gaps })
        return gaps
    }
}

type FleetPayload = { now: number; staleAfterMs: number; devices: any[]; log: any }

/** GET /v1/devices, each device with a gap record also with its losses by reason. */
function fleetReader(app: Hono, gapsOf: GapsOf, o: { staleAfterMs: number; now: () => number }): () => Promise<FleetPayload> {
    return async () => {
        const devices = (await readJson(app, "/v1/devices")).devices
        for (const d of devices) {
            if (!(d.gapRecords > 0) || !isDeviceIdHex(d.deviceId)) continue
            d.gapReasons = lossesByReason(await gapsOf(d.deviceId, d.head))
        }
        // The transparency log's latest checkpoint (GET /v1/log): shown above the fleet.
        const log = (await readJson(app, "/v1/log")).checkpoint
        return { now: o.now(), staleAfterMs: o.staleAfterMs, devices, log }
    }
}

/** The fleet as one reader may see it (a token limited to some devices sees those only). */
function forReader(reader: Reader | undefined, payload: FleetPayload): FleetPayload {
    return { ...payload, devices: visible(reader, payload.devices) }
}

function lossesByReason(gaps: GapRecord[]): { reason: string; records: number; lostReadings: number }[] {
    const byReason: Record<string, { records: number; lostReadings: number }> = {}
    for (const g of gaps) {
        const r = (byReason[g.reason] ??= { records: 0, lostReadings: 0 })
        r.records++
        r.lostReadings += g.lostReadings
    }
    return Object.entries(byReason).map(([reason, r]) => ({ reason, ...r }))
}

interface FleetPoller {
    /** Adds a page: it gets the last fleet sent (if any) at once, then every change. Returns its removal. */
    subscribe(notify: (payload: FleetPayload) => void): Promise<() => void>
}

/**
 * One poller for every open page: it runs while at least one page listens, and tells them the
 * fleet when it changed, or when heartbeatMs passed without a change.
 */
function fleetPoller(fleet: () => Promise<FleetPayload>, o: { pollMs: number; heartbeatMs: number }): FleetPoller {
    const subscribers = new Set<(payload: FleetPayload) => void>()
    let latest: { signature: string; payload: FleetPayload; sentAt: number } | undefined
    let timer: ReturnType<typeof setInterval> | undefined
    let polling = false
    const poll = async () => {
        if (polling) return
        polling = true
        try {
            const payload = await fleet()
            // `now` changes every time; only the devices and the log decide whether anything happened. A
            // device turns stale with nothing happening, though, so pages also get the fleet
            // (with its `now`) at least every heartbeatMs.
            const signature = JSON.stringify([payload.devices, payload.log])
            const sinceSent = latest ? payload.now - latest.sentAt : Infinity
            // A clock set back (sinceSent < 0) is news too.
            if (latest && latest.signature === signature && sinceSent >= 0 && sinceSent < o.heartbeatMs) return
            latest = { signature, payload, sentAt: payload.now }
            for (const notify of subscribers) notify(payload)
        } catch (e) {
            // The next poll tries again; the page shows the last state it had.
        } finally {
            polling = false
        }
    }
    return {
        async subscribe(notify) {
            subscribers.add(notify)
            if (!timer) {
                timer = setInterval(poll, o.pollMs)
                timer.unref?.()
            }
            if (latest) notify(latest.payload)
            await poll()
            return () => {
                subscribers.delete(notify)
                if (subscribers.size === 0 && timer) {
                    clearInterval(timer)
                    timer = undefined
                    latest = undefined
                }
            }
        },
    }
}

/**
 * GET /dashboard/api/stream: the fleet as server-sent events, one "fleet" message per change of
 * what this reader sees (a change to another device is no news to a limited token), or after
 * heartbeatMs. Before each message the reader's token is checked again: once it is revoked the
 * stream sends "signed-out" and ends.
 */
function serveFleetStream(app: Hono, poller: FleetPoller, o: { heartbeatMs: number; tokens?: ReadTokenStore }) {
    app.get("/dashboard/api/stream", c => {
        const reader = readerOf(c)
        return streamSSE(c, async stream => {
            let id = 0
            let last: { signature: string; sentAt: number } | undefined
            let end = () => {}
            const closed = new Promise<void>(resolve => {
                end = resolve
                stream.onAbort(resolve)
                if (stream.aborted) resolve()
            })
            let sending = Promise.resolve()
            const send = async (payload: FleetPayload) => {
                const mine = forReader(reader, payload)
                // Everything but the clock decides whether this is news (the devices, and whatever else the payload carries).
                const { now: _now, ...content } = mine
                const signature = JSON.stringify(content)
                const since = last ? mine.now - last.sentAt : Infinity
                if (last && last.signature === signature && since >= 0 && since < o.heartbeatMs) return
                if (reader && o.tokens && !(await stillValid(o.tokens, reader))) {
                    await stream.writeSSE({ event: "signed-out", data: "{}", id: String(++id) }).catch(() => {})
                    end()
                    return
                }
                last = { signature, sentAt: mine.now }
                await stream.writeSSE({ event: "fleet", data: JSON.stringify(mine), id: String(++id) }).catch(() => {})
            }
            const unsubscribe = await poller.subscribe(payload => {
                sending = sending.then(() => send(payload)).catch(() => {})
            })
            await closed
            unsubscribe()
        })
    })
}

/** GET /dashboard/api/devices/:id/gaps: the device's gap records (the device view's table and plot bands). */
function serveGaps(app: Hono, gapsOf: GapsOf) {
    app.get("/dashboard/api/devices/:id/gaps", async c => {
        const id = c.req.param("id")
        if (!isDeviceIdHex(id)) return c.json({ error: "bad-request", message: "a device id is " + DEVICE_ID_TEXT }, 400)
        const device = await app.request("/v1/devices/" + id, undefined, INTERNAL_READ_ENV)
        if (!device.ok) return c.json(await device.json(), device.status as 404)
        return c.json({ deviceId: id, gaps: await gapsOf(id, (await device.json()).head) })
    })
}
