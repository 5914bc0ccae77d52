/**
 * The admin token check as one Hono middleware, in the style of Hono's `bearerAuth`
 * (hono/middleware/bearer-auth): `Authorization: Bearer <token>`, the scheme's name in any
 * case, the token compared in constant time. Unlike bearerAuth it answers through the
 * gateway's own error shape (HttpError, mapped by app.onError), and a gateway started without
 * a token refuses every admin request instead of failing to start: registering over HTTP is
 * then simply off.
 *
 * Put it on each admin route (`group.post(path, auth, handler)`), never as `use("*")` on a
 * group mounted with `app.route()`: that would guard every route under the group's path, the
 * open read routes of the same paths included.
 */
import { createHash } from "node:crypto"
import type { MiddlewareHandler } from "hono"
import { constantTimeEqual } from "../../src/lib/codec/bytes"
import { HttpError } from "./errors"

const PREFIX = "bearer "

/** Compares two secrets in constant time (hashed first, so their lengths do not show either). */
export function tokensEqual(given: string, expected: string): boolean {
    const digest = (s: string) => createHash("sha256").update(s).digest()
    return constantTimeEqual(digest(given), digest(expected))
}

/** The bearer token of an Authorization header value; undefined when it is not one. */
export function bearerToken(header: string | undefined): string | undefined {
    if (!header || header.slice(0, PREFIX.length).toLowerCase() !== PREFIX) return undefined
    const token = header.slice(PREFIX.length).trim()
    return token === "" ? undefined : token
}

/** Lets a request through only with `Authorization: Bearer <adminToken>`; 401 otherwise. */
export function adminAuth(adminToken: string | undefined): MiddlewareHandler {
    return async (c, next) => {
        const given = bearerToken(c.req.header("authorization"))
        // Compared even without a configured token, so timing does not tell whether one is set.
        const equal = given !== undefined && tokensEqual(given, adminToken ?? "") && !!adminToken
        if (!equal)
            throw new HttpError(
                401,
                "unauthorized",
                "this route needs the admin token: Authorization: Bearer <token>",
                {},
                { "www-authenticate": 'Bearer realm="fieldledger admin"' }
            )
        await next()
    }
}
