/**
 * The gateway's HTTP API on Hono (docs/API.md): routes only, over GatewayService. Errors are
 * mapped in one place (onError): an HttpError becomes `{"error", "message", ...extra}` with its
 * status, anything else a 500 that names no internals.
 */
import { Hono } from "hono"
import { syncPath } from "../../src/lib/sync/gatewayurl"
import { MAX_BATCH_BYTES } from "../../src/lib/sync/syncwire"
import { registerDashboard } from "../dashboard/routes"
import { adminRoutes } from "./adminroutes"
import { echo, HttpError } from "./errors"
import { readAccess, readerOf, seesAll, visible } from "./readauth"
import { GatewayService } from "./service"
import { registerSignIn, signInPage } from "./signin"
import { registerLogRoutes } from "./tlog/logroutes"

export interface GatewayAppOptions {
    service: GatewayService
    /** Bearer token for admin routes; undefined: admin routes answer 401 (none configured). It also reads (readauth.ts). */
    adminToken?: string
    /** Reads open to anyone, without a read token (`fieldledger gateway --public-read`; readauth.ts). */
    publicRead?: boolean
    /** Where unexpected errors are logged (default console.error). */
    log?: (message: string) => void
    /** The dashboard's base staleness threshold (DashboardOptions.staleAfterMs; default 15 min). */
    staleAfterMs?: number
    /** How often the dashboard's stream re-sends an unchanged fleet (DashboardOptions.heartbeatMs). */
    heartbeatMs?: number
    /** The dashboard's clock in unix ms (default Date.now; tests give the service's). */
    now?: () => number
}

/** How much of an oversize body is read and thrown away after the 413, so the client sees it. */
const DISCARD_AFTER_OVERSIZE = 8 * 1024 * 1024

/**
 * Reads a request body up to `max` bytes. A longer body is cut at max + 1 bytes and flagged
 * (its first bytes still hold the batch header, so the 413 reply can carry a signed ack); the
 * rest is read and discarded in the background (up to DISCARD_AFTER_OVERSIZE), so a client
 * still sending gets the 413 and a clean close rather than a reset. A body the client cuts off
 * is a 400, not a gateway error: anyone can do it.
 */
async function readLimited(request: Request, max: number): Promise<{ body: Buffer; oversize: boolean }> {
    const declared = Number(request.headers.get("content-length") ?? NaN)
    if (!request.body) return { body: Buffer.alloc(0), oversize: false }
    const reader = request.body.getReader()
    const chunks: Buffer[] = []
    let length = 0
    for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>
        try {
            chunk = await reader.read()
        } catch (e) {
            throw new HttpError(400, "incomplete-body", "the request body ended before it was complete")
        }
        const { done, value } = chunk
        if (done) break
        chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
        length += value.byteLength
        if (length > max) {
            void discardRest(reader, DISCARD_AFTER_OVERSIZE)
            return { body: Buffer.concat(chunks).subarray(0, max + 1), oversize: true }
        }
    }
    return { body: Buffer.concat(chunks), oversize: declared > max }
}

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number): Promise<void> {
    let discarded = 0
    try {
        for (;;) {
            const { done, value } = await reader.read()
            if (done) return
            discarded += value.byteLength
            if (discarded > limit) {
                await reader.cancel()
                return
            }
        }
    } catch (e) {
        // The client went away: nothing left to discard.
    }
}

/**
 * A 200 whose body is pulled from `chunks` one piece at a time as the client reads it: a slow
 * reader holds one piece, not the whole answer, and each piece is one slice of the event loop.
 */
function streamed(chunks: AsyncIterator<string>, headers: Record<string, string>): Response {
    const encoder = new TextEncoder()
    const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
            // A turn of the event loop between pieces: on loopback a socket can take a piece
            // at once, and without this the whole answer would be written in one turn.
            await new Promise(resolve => setImmediate(resolve))
            const piece = await chunks.next()
            if (piece.done) controller.close()
            else controller.enqueue(encoder.encode(piece.value))
        },
        cancel() {
            void chunks.return?.(undefined)
        },
    })
    return new Response(body, { status: 200, headers })
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

    // Reading needs a credential unless readauth.ts says otherwise: first, before every route.
    app.use(
        "*",
        readAccess({
            tokens: service.store.tokens,
            adminToken: options.adminToken,
            publicRead: options.publicRead,
            signInPage: c => signInPage({ next: c.req.path, status: 401 }),
        })
    )
    registerSignIn(app, service.store.tokens)

    app.get("/v1/health", async c => {
        const health = await service.health()
        // Public; how many devices there are only to a reader of them all.
        return c.json(seesAll(readerOf(c)) ? health : { ok: health.ok })
    })
    registerLogRoutes(app, service)
    app.route("/v1", adminRoutes(service, options.adminToken))

    app.get("/v1/devices", async c => c.json({ devices: visible(readerOf(c), await service.fleet()) }))
    app.get("/v1/devices/:id", async c => c.json(await service.deviceDetail(c.req.param("id"))))

    app.post(syncPath(":id"), async c => {
        requireBatchType(c.req.header("content-type"))
        const { body, oversize } = await readLimited(c.req.raw, MAX_BATCH_BYTES)
        if (oversize) c.header("connection", "close")
        else await service.prepareIngest(c.req.param("id"), body)
        const reply = await service.ingest(c.req.param("id"), body, { oversize, backlog: c.req.query("backlog") })
        return c.json(reply.body, reply.status)
    })

    app.get("/v1/devices/:id/export", async c => {
        const id = c.req.param("id")
        const chunks = await service.exportStream(id)
        return streamed(chunks, {
            "content-type": "application/json; charset=utf-8",
            "content-disposition": `attachment; filename="${id}.json"`,
        })
    })

    app.get("/v1/devices/:id/blocks", async c => {
        const range = {
            fromSeq: seqParam(c.req.query("from"), "from"),
            toSeq: seqParam(c.req.query("to"), "to"),
            limit: seqParam(c.req.query("limit"), "limit"),
        }
        const bytes = c.req.query("bytes")
        if (bytes !== undefined && bytes !== "1") throw new HttpError(400, "bad-request", "bytes must be 1 (each block's bytes in hex)")
        return streamed(await service.blockListStream(c.req.param("id"), range, bytes === "1"), { "content-type": "application/json" })
    })

    app.get("/v1/devices/:id/readings", async c => {
        const format = c.req.query("format") ?? "json"
        const range = { fromSeq: seqParam(c.req.query("from"), "from"), toSeq: seqParam(c.req.query("to"), "to") }
        if (format !== "json" && format !== "csv") throw new HttpError(400, "bad-request", "format must be json or csv")
        const { chunks, next } = await service.readingsStream(c.req.param("id"), range, format)
        const headers: Record<string, string> = { "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/json" }
        if (next !== undefined) headers["x-next-from"] = String(next)
        return streamed(chunks, headers)
    })

    app.get("/v1/devices/:id/events", async c => c.json({ deviceId: c.req.param("id"), events: await service.events(c.req.param("id")) }))
    app.get("/v1/devices/:id/gaps", async c => c.json({ deviceId: c.req.param("id"), gaps: await service.gaps(c.req.param("id")) }))
    registerDashboard(app, {
        staleAfterMs: options.staleAfterMs,
        heartbeatMs: options.heartbeatMs,
        now: options.now,
        tokens: service.store.tokens,
    })

    return app
}
