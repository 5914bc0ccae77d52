/**
 * Live fleet updates: server-sent events from /dashboard/api/stream (one "fleet" message per
 * change), with polling of /dashboard/api/fleet where EventSource is missing. The indicator in
 * the header says whether the page is live.
 */
import { checkSignedIn, signInAgain } from "./session.js"

const POLL_MS = 5000

export function subscribeFleet(onFleet) {
    const indicator = document.getElementById("live")
    const show = (state, text) => {
        if (!indicator) return
        indicator.dataset.state = state
        indicator.textContent = text
    }
    if (typeof EventSource !== "function") {
        const poll = async () => {
            try {
                const res = await fetch("/dashboard/api/fleet")
                if (res.status === 401) return signInAgain()
                if (!res.ok) throw new Error(res.status)
                onFleet(await res.json())
                show("live", "polling")
            } catch (e) {
                show("down", "gateway unreachable")
            }
        }
        poll()
        const timer = setInterval(poll, POLL_MS)
        return () => clearInterval(timer)
    }
    const source = new EventSource("/dashboard/api/stream")
    source.addEventListener("open", () => show("live", "live"))
    source.addEventListener("error", () => {
        show("down", "reconnecting…")
        // A stream refused (401) is not retried by EventSource: ask whether we are still signed in.
        if (source.readyState === EventSource.CLOSED) checkSignedIn()
    })
    // The gateway ends the stream when the page's token is revoked.
    source.addEventListener("signed-out", () => {
        source.close()
        signInAgain()
    })
    source.addEventListener("fleet", event => {
        show("live", "live")
        onFleet(JSON.parse(event.data))
    })
    return () => source.close()
}
