/**
 * Who may read (docs/API.md, "Access"): one Hono middleware in front of every route. Reading
 * is denied by default: a route answers without a read credential only if ROUTE_ACCESS below
 * names it (the device's sync route, the admin routes with their own bearer check, the sign-in
 * routes) or it lies under a public prefix (PUBLIC_PREFIXES). A route added to the app is
 * therefore a read route until someone decides otherwise here; test/node/gateway/readauth.test.ts
 * walks every route the app has and checks that each read route answers 401 without a token.
 *
 * A read credential is one of:
 *   - a read token (tokens.ts) as `Authorization: Bearer flr_...` or in the dashboard's cookie
 *     (signin.ts); a token limited to some devices reads only those;
 *   - the admin token as `Authorization: Bearer` (never from a cookie): whoever registers the
 *     devices may read them, and `fieldledger provision --check` asks with it;
 *   - nothing at all when the gateway runs with --public-read.
 *
 * A limited token sees the fleet list filtered to its devices, and every route with a device
 * id (`:id`) answers it 404 unknown-device for other devices, exactly as for a device that is
 * not registered, so it cannot probe which devices exist.
 */
import type { Context, MiddlewareHandler } from "hono"
import { getCookie } from "hono/cookie"
import { matchedRoutes } from "hono/route"
import { syncPath } from "../../src/lib/sync/gatewayurl"
import { bearerToken, tokensEqual } from "./adminauth"
import { echo, HttpError } from "./errors"
import { looksLikeReadToken, readTokenHash, ReadTokenRecord, ReadTokenStore } from "./tokens"

/** The dashboard's cookie: the read token, HttpOnly (signin.ts sets it). */
export const READ_COOKIE = "fl_read"

/**
 * How a route is reached without a read credential:
 *   device   the sync route: devices post their blocks, authenticated by the blocks' tags
 *   admin    behind the admin bearer check (adminauth.ts), in its own handler
 *   session  the sign-in and sign-out routes
 *   public   public by design (see PUBLIC_PREFIXES)
 *   page     a dashboard page: a read route, whose 401 is the sign-in form rather than JSON
 *   read     everything else (the default)
 */
export type RouteAccess = "device" | "admin" | "session" | "public" | "page" | "read"

/** The routes that are not plain read routes, as "METHOD path" exactly as the app registers them. */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
    ["POST " + syncPath(":id")]: "device",
    "GET /v1/admin/check": "admin",
    "POST /v1/devices": "admin",
    "POST /v1/devices/:id/succession": "admin",
    "GET /signin": "session",
    "POST /signin": "session",
    "POST /signout": "session",
    // Liveness for load balancers and tools; the device count only to a reader of every device.
    "GET /v1/health": "public",
    "GET /": "page",
    "GET /devices/:id": "page",
}

/**
 * The allow-list hook for routes that are public by design, by path prefix: what they serve
 * is meant for anyone (no readings, no secrets). `/v1/log` is the transparency log's (its
 * checkpoints, tiles and inclusion and consistency proofs show device ids, seqs and block
 * hashes only). A device's signing public key belongs here too once a route serves it alone.
 * Add a prefix only for data that every visitor may see; say so in docs/API.md.
 */
export const PUBLIC_PREFIXES: readonly string[] = ["/v1/log"]

export function isPublicPath(path: string): boolean {
    return PUBLIC_PREFIXES.some(p => path === p || path.startsWith(p + "/"))
}

/** Who is reading: what every read handler may ask through readerOf(c). */
export type Reader =
    | { kind: "token"; token: ReadTokenRecord; hash: Buffer }
    | { kind: "admin" }
    /** --public-read, and the gateway's own requests (the dashboard reading the API in process). */
    | { kind: "public" }

/** True when the reader may see the device. */
export function sees(reader: Reader | undefined, deviceId: string): boolean {
    if (!reader) return false
    if (reader.kind !== "token" || reader.token.devices === null) return true
    return reader.token.devices.includes(deviceId)
}

/** True when the reader sees every device (a count of all devices is then theirs to see). */
export function seesAll(reader: Reader | undefined): boolean {
    return !!reader && (reader.kind !== "token" || reader.token.devices === null)
}

/** The list filtered to what the reader sees (the fleet: `deviceId` on each). */
export function visible<T extends { deviceId?: unknown }>(reader: Reader | undefined, devices: T[]): T[] {
    return seesAll(reader) ? devices : devices.filter(d => typeof d.deviceId === "string" && sees(reader, d.deviceId))
}

const READER = "fieldledgerReader"

/** The request's reader (undefined on routes that need none and got none). */
export function readerOf(c: Context): Reader | undefined {
    return c.get(READER as never) as Reader | undefined
}

/**
 * The gateway's requests to itself (the dashboard builds on the read API through app.request)
 * pass this as their Env: a symbol no HTTP request can carry. They read everything; the
 * dashboard filters what it passes on to its own reader.
 */
const INTERNAL = Symbol("fieldledger internal read")
export const INTERNAL_READ_ENV = { [INTERNAL]: true }

export interface ReadAccessOptions {
    tokens: ReadTokenStore
    adminToken?: string
    /** Reads open to anyone (`fieldledger gateway --public-read`). */
    publicRead?: boolean
    /** The 401 of a dashboard page: the sign-in form (signin.ts). */
    signInPage?: (c: Context) => Response | Promise<Response>
}

/** The credential a request presents, checked; undefined when it presents none; "bad" when it is not valid. */
export async function presentedReader(c: Context, o: ReadAccessOptions): Promise<Reader | "bad" | undefined> {
    const header = c.req.header("authorization")
    if (header !== undefined) {
        const given = bearerToken(header)
        if (given === undefined) return "bad"
        if (o.adminToken && tokensEqual(given, o.adminToken)) return { kind: "admin" }
        return tokenReader(o.tokens, given)
    }
    const cookie = getCookie(c, READ_COOKIE)
    if (cookie !== undefined) return tokenReader(o.tokens, cookie)
    return undefined
}

async function tokenReader(tokens: ReadTokenStore, given: string): Promise<Reader | "bad"> {
    if (!looksLikeReadToken(given)) return "bad"
    const hash = readTokenHash(given)
    const token = await tokens.byHash(hash)
    return token ? { kind: "token", token, hash } : "bad"
}

/** Still a valid credential (a long stream asks again: a token revoked meanwhile ends it). */
export async function stillValid(tokens: ReadTokenStore, reader: Reader): Promise<boolean> {
    if (reader.kind !== "token") return true
    return (await tokens.byHash(reader.hash)) !== undefined
}

/** The access of the route a request reaches: the strictest of the routes it matched. */
export function routeAccess(c: Context): { access: RouteAccess; path: string | undefined } {
    const routes = matchedRoutes(c).filter(r => r.method !== "ALL")
    if (routes.length === 0) return { access: isPublicPath(c.req.path) ? "public" : "read", path: undefined }
    const path = routes[routes.length - 1].path
    const kinds = new Set(routes.map(r => (isPublicPath(r.path) ? "public" : (ROUTE_ACCESS[r.method + " " + r.path] ?? "read"))))
    return { access: kinds.size === 1 ? [...kinds][0] : "read", path }
}

/** The value of the route's `:id` in the request's path (the device a route reads), if it has one. */
export function deviceParam(routePath: string | undefined, requestPath: string): string | undefined {
    if (!routePath) return undefined
    const pattern = routePath.split("/")
    const at = pattern.indexOf(":id")
    if (at < 0) return undefined
    const segment = requestPath.split("/")[at]
    if (segment === undefined) return undefined
    try {
        return decodeURIComponent(segment)
    } catch {
        return segment
    }
}

export function unauthorized(): HttpError {
    return new HttpError(
        401,
        "unauthorized",
        "reading needs a read token: Authorization: Bearer <token> (fieldledger gateway token create --read), or sign in at /signin",
        {},
        { "www-authenticate": 'Bearer realm="fieldledger read"' }
    )
}

/** The middleware: put it first, on "*". */
export function readAccess(o: ReadAccessOptions): MiddlewareHandler {
    return async (c, next) => {
        if ((c.env as Record<symbol, unknown> | undefined)?.[INTERNAL]) {
            c.set(READER as never, { kind: "public" } as never)
            return next()
        }
        const { access, path } = routeAccess(c)
        if (access === "device" || access === "admin" || access === "session") return next()
        const presented = o.publicRead ? ({ kind: "public" } as const) : await presentedReader(c, o)
        if (access === "public") {
            if (presented && presented !== "bad") c.set(READER as never, presented as never)
            return next()
        }
        if (presented === undefined || presented === "bad") {
            if (access === "page" && o.signInPage) return o.signInPage(c)
            throw unauthorized()
        }
        c.set(READER as never, presented as never)
        const device = access === "page" ? undefined : deviceParam(path, c.req.path)
        if (device !== undefined && !sees(presented, device))
            throw new HttpError(404, "unknown-device", "no device " + echo(device) + " is registered")
        return next()
    }
}
