/**
 * Signing in to the dashboard (docs/DASHBOARD.md, "Signing in"): the page asks for a read token
 * once and keeps it in a cookie scripts cannot read.
 *
 *   GET  /signin              the form (a dashboard page without a credential answers 401 with it)
 *   GET  /signin?token=T      signs in with T and redirects to the dashboard: the link
 *                             `fieldledger start` prints; the token leaves the address bar at once
 *   POST /signin              the form's post (token, next)
 *   POST /signout             forgets the cookie, back to the form
 *   GET  /dashboard/api/session   who is signed in (a read route: 401 without a credential)
 *
 * The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
 * Path=/, Secure when the request came over https (directly or through a proxy that says so in
 * X-Forwarded-Proto), and lasts SESSION_DAYS. Only read tokens sign in: the admin token is not
 * taken here, so it never sits in a browser. Posts from another origin are refused.
 */
import type { Context, Hono } from "hono"
import { deleteCookie, setCookie } from "hono/cookie"
import { READ_COOKIE, Reader, readerOf } from "./readauth"
import { looksLikeReadToken, readTokenHash, ReadTokenStore } from "./tokens"

/** How long the dashboard's cookie lasts (a revoked token ends it sooner). */
export const SESSION_DAYS = 30
/** The largest sign-in form body read. */
const MAX_FORM_BYTES = 4096

const PAGE_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}

function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, ch => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!)
}

/** Where to go after signing in: a path on this gateway only (never another site, never "//host"). */
export function safeNext(next: string | undefined): string {
    if (!next || !/^\/(?![/\\])[^\s]*$/.test(next) || next.length > 512 || next.startsWith("/signin")) return "/"
    return next
}

/** The sign-in form; `message` says why it is shown again. */
export function signInPage(o: { next?: string; message?: string; status?: number }): Response {
    const message = o.message ? `<p class="bad" role="alert">${escapeHtml(o.message)}</p>` : ""
    const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>Sign in · fieldledger gateway</title>
<style>
body { font: 16px/1.4 system-ui, sans-serif; max-width: 34rem; margin: 4rem auto; padding: 0 1rem; color: #222; }
input[type=password] { width: 100%; padding: .5rem; font: inherit; box-sizing: border-box; }
button { margin-top: .8rem; padding: .4rem 1.2rem; font: inherit; }
.bad { color: #a40000; } .muted { color: #666; font-size: .9rem; }
</style>
</head>
<body>
<h1>fieldledger gateway</h1>
<p>Reading this gateway's devices needs a read token.</p>
${message}
<form method="post" action="/signin">
<label for="token">Read token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
<input type="hidden" name="next" value="${escapeHtml(safeNext(o.next))}" />
<button type="submit">Sign in</button>
</form>
<p class="muted">The gateway's operator creates one with <code>fieldledger gateway token create --read</code>. It is kept in a cookie that scripts on the page cannot read, until you sign out.</p>
</body>
</html>
`
    return new Response(body, { status: o.status ?? 200, headers: PAGE_HEADERS })
}

/** The request came over https (or through a proxy that says it did). */
function overHttps(c: Context): boolean {
    if (new URL(c.req.url).protocol === "https:") return true
    return (c.req.header("x-forwarded-proto") ?? "").split(",")[0].trim().toLowerCase() === "https"
}

/**
 * A post from a page of another origin: refused. Browsers say where a request comes from in
 * Sec-Fetch-Site; without it, in Origin (which is "null" on a same-origin form post from a page
 * with Referrer-Policy: no-referrer, as the dashboard's, so "null" alone decides nothing).
 */
function crossOrigin(c: Context): boolean {
    const site = c.req.header("sec-fetch-site")
    if (site !== undefined) return site !== "same-origin" && site !== "none"
    const origin = c.req.header("origin")
    if (origin === undefined || origin === "null") return false
    const host = c.req.header("host")
    try {
        return new URL(origin).host !== (host ?? new URL(c.req.url).host)
    } catch {
        return true
    }
}

async function readForm(c: Context): Promise<URLSearchParams | undefined> {
    const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase()
    if (type !== "application/x-www-form-urlencoded") return undefined
    const body = c.req.raw.body
    if (!body) return new URLSearchParams()
    const reader = body.getReader()
    const chunks: Uint8Array[] = []
    let length = 0
    for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        length += value.byteLength
        if (length > MAX_FORM_BYTES) {
            await reader.cancel()
            return undefined
        }
        chunks.push(value)
    }
    return new URLSearchParams(Buffer.concat(chunks).toString("utf8"))
}

/** What GET /dashboard/api/session says of a reader. */
export function sessionView(reader: Reader | undefined) {
    if (!reader || reader.kind === "public") return { access: "public" as const }
    if (reader.kind === "admin") return { access: "admin" as const }
    return { access: "token" as const, tokenId: reader.token.id, label: reader.token.label, devices: reader.token.devices }
}

export function registerSignIn(app: Hono, tokens: ReadTokenStore): void {
    const signIn = async (c: Context, token: string | undefined, next: string | undefined) => {
        const valid = looksLikeReadToken(token) && (await tokens.byHash(readTokenHash(token))) !== undefined
        if (!valid)
            return signInPage({
                next,
                status: 401,
                message: "That is not a valid read token (mistyped, or revoked): ask the operator for one.",
            })
        setCookie(c, READ_COOKIE, token, {
            httpOnly: true,
            sameSite: "Strict",
            path: "/",
            secure: overHttps(c),
            maxAge: SESSION_DAYS * 24 * 3600,
        })
        c.header("cache-control", "no-store")
        c.header("referrer-policy", "no-referrer")
        return c.redirect(safeNext(next), 303)
    }

    app.get("/signin", c => {
        const token = c.req.query("token")
        if (token === undefined) return signInPage({ next: c.req.query("next") })
        return signIn(c, token, c.req.query("next"))
    })
    app.post("/signin", async c => {
        if (crossOrigin(c)) return signInPage({ status: 403, message: "A sign-in from another site's page is refused." })
        const form = await readForm(c)
        if (!form) return signInPage({ status: 400, message: "The sign-in form was not sent as a form." })
        return signIn(c, form.get("token") ?? undefined, form.get("next") ?? undefined)
    })
    app.post("/signout", c => {
        if (crossOrigin(c)) return signInPage({ status: 403, message: "A sign-out from another site's page is refused." })
        deleteCookie(c, READ_COOKIE, { path: "/", httpOnly: true, sameSite: "Strict", secure: overHttps(c) })
        c.header("cache-control", "no-store")
        return c.redirect("/signin", 303)
    })
    app.get("/dashboard/api/session", c => c.json(sessionView(readerOf(c))))
}
