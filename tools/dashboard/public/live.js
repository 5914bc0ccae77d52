/**
 * Live fleet updates: server-sent events from /dashboard/api/stream (one "fleet" message per
 * change), with polling of /dashboard/api/fleet where EventSource is missing. The indicator in
 * the header says whether the page is live.
 */
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
    source.addEventListener("error", () => show("down", "reconnecting…"))
    source.addEventListener("fleet", event => {
        show("live", "live")
        onFleet(JSON.parse(event.data))
    })
    return () => source.close()
}
