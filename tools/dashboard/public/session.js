/**
 * The page's sign-in state (docs/DASHBOARD.md, "Signing in"). The read token sits in an
 * HttpOnly cookie this script cannot read; the page asks /dashboard/api/session who it is, shows
 * it beside the sign-out button, and goes to the sign-in form whenever the gateway answers 401
 * (a token revoked, the cookie expired, signed out in another tab).
 */
import { replace } from "./dom.js"

/** To the sign-in form, coming back here afterwards. */
export function signInAgain() {
    location.assign("/signin?next=" + encodeURIComponent(location.pathname))
}

/** Whether the gateway still takes this page's credential; goes to the sign-in form if not. */
export async function checkSignedIn() {
    let res
    try {
        res = await fetch("/dashboard/api/session")
    } catch (e) {
        return undefined // unreachable: the live indicator says so
    }
    if (res.status === 401) {
        signInAgain()
        return undefined
    }
    return res.ok ? res.json() : undefined
}

/** Fills the header's session area: who reads, and a sign-out button (none when reads are public). */
export async function showSession() {
    const session = await checkSignedIn()
    const who = document.getElementById("who")
    const form = document.getElementById("signout")
    if (!session || !who || !form) return
    if (session.access === "public") {
        replace(who, "reads are public")
        return
    }
    const name = session.access === "admin" ? "admin token" : "read token " + (session.label || session.tokenId)
    const scope = session.devices ? " · " + session.devices.length + (session.devices.length === 1 ? " device" : " devices") : ""
    replace(who, name + scope)
    form.hidden = false
}
