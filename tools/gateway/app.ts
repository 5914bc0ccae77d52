/**
 * The gateway's HTTP API on Hono (docs/API.md): routes only, over GatewayService. Errors are
 * mapped in one place (onError): an HttpError becomes `{"error", "message", ...extra}` with its
 * status, anything else a 500 that names no internals.
 */
import { Hono } from "hono"
import { MAX_BATCH_BYTES } from "../../src/lib/sync/syncwire"
import { registerDashboard } from "../dashboard/routes"
import { adminRoutes } from "./adminroutes"
import { echo, HttpError } from "./errors"
import { GatewayService } from "./service"

export interface GatewayAppOptions {
    service: GatewayService
    /** Bearer token for admin routes; undefined: admin routes answer 401 (none configured). */
    adminToken?: string
    /** Where unexpected errors are logged (default console.error). */
    log?: (message: string) => void
    /** The dashboard's base staleness threshold (DashboardOptions.staleAfterMs; default 15 min). */
    staleAfterMs?: number
    /** How often the dashboard's stream re-sends an unchanged fleet (DashboardOptions.heartbeatMs). */
    heartbeatMs?: number
    /** The dashboard's clock in unix ms (default Date.now; tests give the service's). */
    now?: () => number
}

/**
 * Reads a request body up to `max` bytes. A longer body is cut at max + 1 bytes and flagged
 * (its first bytes still hold the batch header, so the 413 reply can carry a signed ack).
 */
async function readLimited(request: Request, max: number): Promise<{ body: Buffer; oversize: boolean }> {
    const declared = Number(request.headers.get("content-length") ?? NaN)
    if (!request.body) return { body: Buffer.alloc(0), oversize: false }
    const reader = request.body.getReader()
    const chunks: Buffer[] = []
    let length = 0
    for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
        length += value.byteLength
        if (length > max) {
            await reader.cancel().catch(() => {})
            return { body: Buffer.concat(chunks).subarray(0, max + 1), oversize: true }
        }
    }
    return { body: Buffer.concat(chunks), oversize: declared > max }
}

function seqParam(value: string | undefined, name: string): number | undefined {
    if (value === undefined || value === "") return undefined
    if (!/^\d{1,10}$/.test(value)) throw new HttpError(400, "bad-request", name + " must be a seq (a whole number)")
    return Number(value)
}

/**
 * A batch must say it is one. A browser's form can post text/plain across origins without
 * asking; application/octet-stream it cannot, so a page a device owner visits cannot fill a
 * device's events with rejected blocks. The firmware and the USB bridge send it.
 */
const BATCH_TYPE = "application/octet-stream"
function requireBatchType(contentType: string | undefined) {
    if ((contentType ?? "").split(";")[0].trim().toLowerCase() !== BATCH_TYPE)
        throw new HttpError(415, "unsupported-media-type", "a batch is sent with content-type " + BATCH_TYPE)
}

export function createGatewayApp(options: GatewayAppOptions): Hono {
    const { service } = options
    const log = options.log ?? ((m: string) => console.error(m))
    const app = new Hono()

    app.onError((err, c) => {
        if (err instanceof HttpError) return c.json({ error: err.code, message: err.message, ...err.extra }, err.status, err.headers)
        log("gateway: unexpected error on " + c.req.method + " " + c.req.path + ": " + (err instanceof Error ? err.stack : String(err)))
        return c.json({ error: "internal", message: "the gateway failed to handle this request; see its log" }, 500)
    })
    app.notFound(c => c.json({ error: "not-found", message: "no route " + echo(c.req.method + " " + c.req.path) }, 404))

    app.get("/v1/health", c => c.json(service.health()))
    app.route("/v1", adminRoutes(service, options.adminToken))

    app.get("/v1/devices", c => c.json({ devices: service.fleet() }))
    app.get("/v1/devices/:id", c => c.json(service.deviceDetail(c.req.param("id"))))

    app.post("/v1/devices/:id/blocks", async c => {
        requireBatchType(c.req.header("content-type"))
        const { body, oversize } = await readLimited(c.req.raw, MAX_BATCH_BYTES)
        const reply = service.ingest(c.req.param("id"), body, { oversize, backlog: c.req.query("backlog") })
        return c.json(reply.body, reply.status)
    })

    app.get("/v1/devices/:id/export", c => {
        const id = c.req.param("id")
        const text = service.exportChain(id)
        c.header("content-disposition", `attachment; filename="${id}.json"`)
        return c.body(text, 200, { "content-type": "application/json; charset=utf-8" })
    })

    app.get("/v1/devices/:id/blocks", c => {
        const range = { fromSeq: seqParam(c.req.query("from"), "from"), toSeq: seqParam(c.req.query("to"), "to"), limit: seqParam(c.req.query("limit"), "limit") }
        return c.json({ deviceId: c.req.param("id"), blocks: service.blockList(c.req.param("id"), range) })
    })

    app.get("/v1/devices/:id/readings", c => {
        const format = c.req.query("format") ?? "json"
        const range = { fromSeq: seqParam(c.req.query("from"), "from"), toSeq: seqParam(c.req.query("to"), "to") }
        if (format === "csv") return c.body(service.readingsCsv(c.req.param("id"), range), 200, { "content-type": "text/csv; charset=utf-8" })
        if (format !== "json") throw new HttpError(400, "bad-request", "format must be json or csv")
        return c.json(service.readings(c.req.param("id"), range))
    })

    app.get("/v1/devices/:id/events", c => c.json({ deviceId: c.req.param("id"), events: service.events(c.req.param("id")) }))
    app.get("/v1/devices/:id/gaps", c => c.json({ deviceId: c.req.param("id"), gaps: service.gaps(c.req.param("id")) }))
    registerDashboard(app, { staleAfterMs: options.staleAfterMs, heartbeatMs: options.heartbeatMs, now: options.now })

    return app
}
