/**
 * Pure functions from the gateway's JSON to what the page shows: a device's state, readable
 * times, and the series a plot draws (with gap records and missing values placed on it).
 * No DOM here.
 */

export const DEVICE_ID = /^[0-9a-f]{16}$/

/** "42 s", "5 min", "3 h", "2 d". */
export function duration(ms) {
    const s = Math.max(0, Math.round(ms / 1000))
    if (s < 90) return s + " s"
    if (s < 90 * 60) return Math.round(s / 60) + " min"
    if (s < 36 * 3600) return Math.round(s / 3600) + " h"
    return Math.round(s / 86400) + " d"
}

export function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many || one + "s")
}

/**
 * How long a device may go unheard before it is stale: `staleAfterMs` plus twice its observed
 * block period (`blockPeriodMs` from the gateway). A device syncs only when it has sealed a
 * block, so one sealing hourly is heard from about hourly; without a known period (fewer than
 * two data blocks of one boot stored) just `staleAfterMs`.
 */
export function staleThresholdMs(device, staleAfterMs) {
    const period = device.blockPeriodMs
    return typeof period === "number" && period > 0 ? staleAfterMs + 2 * period : staleAfterMs
}

/** "expected a sync every ~60 min", or "" when the device's block period is unknown. */
export function cadenceText(device) {
    const period = device.blockPeriodMs
    return typeof period === "number" && period > 0 ? "expected a sync every ~" + duration(period) : ""
}

/**
 * healthy: seen within its threshold (staleThresholdMs) and no security event; stale: not seen
 * for longer, or never; alarm: the gateway rejected a forged or forked block (a security
 * event), whatever else holds.
 */
export function deviceState(device, now, staleAfterMs) {
    if (device.securityEvents > 0)
        return {
            state: "alarm",
            label: "alarm",
            why: plural(device.securityEvents, "security event") + " (forged or forked blocks rejected)",
        }
    if (!device.lastSeen) return { state: "stale", label: "never seen", why: "registered, no block received yet" }
    const age = now - Date.parse(device.lastSeen)
    const cadence = cadenceText(device)
    const expected = cadence ? "; " + cadence : ""
    if (age > staleThresholdMs(device, staleAfterMs))
        return { state: "stale", label: "stale", why: "no sync for " + duration(age) + expected }
    return { state: "healthy", label: "healthy", why: "synced " + duration(age) + " ago" + expected }
}

/** What the gateway's verification says of the stored chain. */
export function verificationText(device) {
    if (!device.head) return "no chain yet"
    const base = "verified 0…" + device.head.seq
    return device.securityEvents > 0 ? base + ", " + plural(device.securityEvents, "rejected block") : base
}

/**
 * How far the chain is signed by the device (its signed checkpoints, verified on ingest under
 * the key registered at provisioning), and that key's fingerprint (first 8 bytes of its SHA-256).
 */
export function signingText(device) {
    const s = device.signing
    if (!s) return "no signing key registered"
    const key = "key " + s.fingerprint
    if (s.signedTo === null || s.signedTo === undefined) return "nothing signed yet (" + key + ")"
    return "signed up to seq " + s.signedTo + " (" + key + ")" + (s.broken ? "; later checkpoints unverifiable" : "")
}

export function blockTimeText(t) {
    if (!t) return "–"
    const rel = "boot " + t.boot + " +" + formatSeconds(t.uptimeMs / 1000)
    return t.unixTime !== undefined && t.unixTime !== null ? isoSeconds(t.unixTime) + " (" + rel + ")" : rel
}

export function formatSeconds(s) {
    if (s < 60) return Math.round(s * 10) / 10 + " s"
    if (s < 3600) return Math.round(s / 6) / 10 + " min"
    return Math.round(s / 360) / 10 + " h"
}

export function isoSeconds(unix) {
    return new Date(unix * 1000).toISOString().replace(".000Z", "Z").replace("T", " ")
}

/** Signature of what a device's page depends on: a change means new data to fetch. */
export function deviceSignature(d) {
    return JSON.stringify([d.head, d.blocks, d.readings, d.securityEvents, d.gapRecords, d.reportedBacklog, d.signing])
}

/**
 * The series of a device's plots. `readings` as GET /v1/devices/:id/readings gives them (seq
 * order), `gaps` as GET /dashboard/api/devices/:id/gaps.
 *
 * x is unix seconds when every reading has a wall-clock time (a reading without one gets it
 * from another reading of the same boot: uptime is monotonic within a boot); otherwise x is
 * the reading's position, labelled with its boot and uptime. A gap record puts an empty point
 * where it sits in the chain, so lines break there, and a band from the reading before to the
 * reading after. A missing value (a sensor fault) is null, so the line breaks, and a fault mark.
 */
export function buildSeries(readings, gaps, channelCount) {
    const offsets = new Map()
    for (const r of readings)
        if (r.unixTime !== undefined && r.unixTime !== null && !offsets.has(r.boot)) offsets.set(r.boot, r.unixTime - r.uptimeMs / 1000)
    const timed = readings.length > 0 && readings.every(r => offsets.has(r.boot))
    const xs = readings.map((r, i) => (timed ? offsets.get(r.boot) + r.uptimeMs / 1000 : i))
    const labels = readings.map(r => "boot " + r.boot + " +" + formatSeconds(r.uptimeMs / 1000))

    const points = readings.map((r, i) => ({ x: xs[i], values: r.values, label: labels[i] }))
    const bands = []
    for (const gap of [...gaps].sort((a, b) => a.seq - b.seq)) {
        const after = readings.findIndex(r => r.seq > gap.seq)
        const x0 = after === -1 ? xs[xs.length - 1] : after > 0 ? xs[after - 1] : undefined
        const x1 = after === -1 ? undefined : xs[after]
        if (x0 === undefined && x1 === undefined) continue
        const band = { x0: x0 ?? x1, x1: x1 ?? x0, gap }
        bands.push(band)
        if (x0 !== undefined && x1 !== undefined)
            points.push({ x: (x0 + x1) / 2, values: new Array(channelCount).fill(null), label: "gap", isGap: true })
    }
    points.sort((a, b) => a.x - b.x)
    const faults = []
    const data = [points.map(p => p.x)]
    for (let c = 0; c < channelCount; c++) data.push(points.map(p => (p.values[c] === undefined ? null : p.values[c])))
    points.forEach((p, i) => {
        if (p.isGap) return
        p.values.forEach((v, c) => {
            if (v === null) faults.push({ x: p.x, channel: c, label: p.label })
        })
    })
    return { timed, data, bands, faults, labelAt: x => labelNear(points, x, timed) }
}

function labelNear(points, x, timed) {
    if (timed) return isoSeconds(x)
    let best
    for (const p of points) if (!p.isGap && (!best || Math.abs(p.x - x) < Math.abs(best.x - x))) best = p
    return best ? best.label : ""
}

/**
 * "3 readings lost", or "up to 10 readings lost" for a power-loss record, whose count is an
 * upper bound (docs/FORMAT.md, "Gap body").
 */
export function lostText(lostReadings, upperBound) {
    return (upperBound ? "up to " : "") + plural(lostReadings, "reading") + " lost"
}

/** Whether a count summed over these gap records (each with its reason) is an upper bound. */
export function isUpperBound(gaps) {
    return (gaps || []).some(g => !!g && g.reason === "power-loss")
}

/** "power-loss, up to 3 readings lost, ..." (without the reason where a column shows it). */
export function gapText(gap, withReason = true) {
    const parts = withReason ? [gap.reason] : []
    parts.push(lostText(gap.lostReadings, isUpperBound([gap])))
    if (gap.lostBlocks > 0)
        parts.push(
            plural(gap.lostBlocks, "block") + " dropped (seq " + gap.firstLostSeq + "…" + (gap.firstLostSeq + gap.lostBlocks - 1) + ")"
        )
    return parts.join(", ")
}

/** The seqs of the blocks whose readings came encrypted end to end (rows as GET .../readings gives them). */
export function encryptedSeqs(rows) {
    return [...new Set(rows.filter(r => r.encrypted).map(r => r.seq))]
}

/**
 * Puts the values decrypted in the browser (`decrypted`: seq -> one array of values per reading,
 * in order) into the encrypted rows, in place, marking them `decrypted`. Returns how many rows
 * got values; a row whose block is not in `decrypted` keeps no values.
 */
export function fillDecrypted(rows, decrypted) {
    const nth = new Map()
    let filled = 0
    for (const r of rows) {
        if (!r.encrypted) continue
        const i = nth.get(r.seq) || 0
        nth.set(r.seq, i + 1)
        const values = decrypted.get(r.seq)
        if (!values || !values[i]) continue
        r.values = values[i]
        r.decrypted = true
        filled++
    }
    return filled
}
