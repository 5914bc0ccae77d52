/**
 * The device view: its state and figures, gap records and security events, one uPlot chart per
 * channel (gaps as bands, missing values as fault marks and line breaks), and the chain as a
 * list of blocks. `update` fetches again and redraws in place when the fleet stream says the
 * device changed.
 */
import uPlot from "/dashboard/vendor/uPlot.esm.js"
import { h, replace } from "./dom.js"
import {
    blockTimeText,
    buildSeries,
    deviceState,
    duration,
    gapText,
    isUpperBound,
    lostText,
    plural,
    signingText,
    staleThresholdMs,
    verificationText,
} from "./model.js"
import { signInAgain } from "./session.js"

/** Blocks listed: the newest this many. */
const BLOCK_LIST_LIMIT = 500
/** Tick steps of a reading-position axis: whole readings only. */
const INDEX_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000]
const COLOURS = ["#0969da", "#8250df", "#1a7f37", "#bf3989", "#9a6700", "#0a7d8c", "#cf222e", "#57606a"]

async function getJson(path) {
    const res = await fetch(path)
    if (res.status === 401) signInAgain()
    if (!res.ok) {
        let message = res.status + " " + res.statusText
        try {
            message = (await res.json()).message || message
        } catch (e) {}
        throw new Error(message)
    }
    return res.json()
}

export function createDeviceView(main, id) {
    const base = "/v1/devices/" + encodeURIComponent(id)
    const el = {
        title: h("h1"),
        state: h("div", { class: "facts" }),
        alerts: h("section", { class: "alerts" }),
        plots: h("section", { class: "plots" }),
        chain: h("section", { class: "chain" }),
    }
    const links = h(
        "p",
        { class: "downloads" },
        h("a", { href: base + "/export", download: id + ".json", id: "export-link" }, "Download export file"),
        " (check offline with ",
        h("code", null, "fieldledger verify " + id + ".json --key-file K0"),
        ") · ",
        h("a", { href: base + "/readings?format=csv", download: id + ".csv" }, "readings as CSV")
    )
    replace(
        main,
        h("p", { class: "crumbs" }, h("a", { href: "/" }, "Fleet"), " / ", id),
        el.title,
        el.state,
        links,
        el.alerts,
        el.plots,
        el.chain
    )

    const plots = []
    let plotsTitle
    let channelsKey = ""
    let lastPayload
    /** The device's details from its last load (firmware and board are not in the fleet message). */
    let lastDevice
    /** The gap records last loaded (their reasons say which counts are upper bounds). */
    let lastGaps = []
    let knownSeqs = new Set()

    async function load() {
        // The plots and the chain list cover the same newest BLOCK_LIST_LIMIT blocks: the
        // gateway decodes every block it returns readings of, and a year of hourly blocks
        // would be decoded again on every new block. The CSV and the export stay whole.
        const range = new URLSearchParams(blockRange())
        const [device, readings, blocks, events, gaps] = await Promise.all([
            getJson(base),
            getJson(base + "/readings?" + range),
            getJson(base + "/blocks?" + range),
            getJson(base + "/events"),
            getJson("/dashboard/api/devices/" + encodeURIComponent(id) + "/gaps"),
        ])
        return { device, readings, blocks: blocks.blocks, events: events.events, gaps: gaps.gaps }
    }

    function blockRange() {
        const d = lastPayload && lastPayload.devices.find(x => x.deviceId === id)
        const head = d && d.head ? d.head.seq : undefined
        return head !== undefined && head >= BLOCK_LIST_LIMIT ? { from: String(head - BLOCK_LIST_LIMIT + 1) } : {}
    }

    function renderFacts(device, payload) {
        const st = payload ? deviceState(device, payload.now, payload.staleAfterMs) : { state: "unknown", label: "…", why: "" }
        replace(
            el.title,
            device.label || device.deviceId,
            " ",
            h("span", { class: "chip " + st.state, title: st.why, id: "device-state" }, st.label)
        )
        const now = payload ? payload.now : Date.now()
        const fact = (k, v, cls) => h("div", { class: "fact " + (cls || "") }, h("span", { class: "k" }, k), h("span", { class: "v" }, v))
        replace(
            el.state,
            fact("Device", device.deviceId, "mono"),
            fact("Firmware", (device.firmware || "–") + (device.board ? " on " + device.board : "")),
            fact("Last seen", device.lastSeen ? duration(now - Date.parse(device.lastSeen)) + " ago" : "never"),
            fact("Block period", blockPeriodText(device, payload)),
            fact("Head seq", device.head ? String(device.head.seq) : "–"),
            fact("Readings stored", String(device.readings)),
            fact(
                "Backlog after last sync",
                device.reportedBacklog === null || device.reportedBacklog === undefined ? "–" : plural(device.reportedBacklog, "block")
            ),
            fact("Verification", verificationText(device), device.securityEvents > 0 ? "bad" : "good"),
            fact(
                "Signed",
                signingText(device),
                device.signing && device.signing.signedTo !== null && !device.signing.broken ? "good" : "warn"
            ),
            fact("Readings lost", (isUpperBound(lastGaps) ? "up to " : "") + device.readingsLost, device.readingsLost > 0 ? "warn" : ""),
            h("p", { class: "why " + st.state }, st.why)
        )
    }

    /** "~1 h (stale after ~2 h unheard)": how often it seals, so syncs, and the threshold that gives. */
    function blockPeriodText(device, payload) {
        if (typeof device.blockPeriodMs !== "number") return "–"
        const after = payload ? " (stale after ~" + duration(staleThresholdMs(device, payload.staleAfterMs)) + " unheard)" : ""
        return "~" + duration(device.blockPeriodMs) + after
    }

    function renderAlerts(events, gaps) {
        const eventTable = events.length
            ? h(
                  "table",
                  { class: "events-table" },
                  h(
                      "thead",
                      null,
                      h(
                          "tr",
                          null,
                          ["First seen", "Last seen", "Times", "Kind", "Seq", "What happened"].map(t => h("th", null, t))
                      )
                  ),
                  h(
                      "tbody",
                      null,
                      events.map(e =>
                          h(
                              "tr",
                              { class: "event", dataset: { kind: e.kind, count: e.count } },
                              h("td", null, e.firstSeen || "–"),
                              h("td", null, e.count > 1 ? e.lastSeen : "–"),
                              h("td", { class: "num" }, "×" + e.count),
                              h("td", null, h("span", { class: "chip alarm" }, e.kind)),
                              h("td", { class: "num" }, e.seq ?? "–"),
                              h("td", null, e.message)
                          )
                      )
                  )
              )
            : h("p", { class: "muted" }, "No security event: every block received carried a valid tag and link.")
        const gapTable = gaps.length
            ? h(
                  "table",
                  { class: "gaps-table" },
                  h(
                      "thead",
                      null,
                      h(
                          "tr",
                          null,
                          ["Seq", "Reason", "Loss", "Since", "Recorded"].map(t => h("th", null, t))
                      )
                  ),
                  h(
                      "tbody",
                      null,
                      gaps.map(g =>
                          h(
                              "tr",
                              { class: "gap-record", dataset: { seq: g.seq } },
                              h("td", { class: "num" }, g.seq),
                              h("td", null, h("span", { class: "chip stale" }, g.reason)),
                              h("td", null, gapText(g, false)),
                              h("td", null, blockTimeText(g.from)),
                              h("td", null, blockTimeText(g.time))
                          )
                      )
                  )
              )
            : h("p", { class: "muted" }, "No gap record: no reading was lost.")
        replace(
            el.alerts,
            h("h2", { class: events.length ? "bad" : "" }, "Security events (" + events.length + ")"),
            eventTable,
            h("h2", { class: gaps.length ? "warn" : "" }, "Gap records (" + gaps.length + ")"),
            gapTable
        )
    }

    function renderPlots(readings, gaps) {
        const channels = readings.channels || []
        const series = buildSeries(readings.readings, gaps, channels.length)
        const key = JSON.stringify(channels) + series.timed
        if (key !== channelsKey) {
            for (const p of plots.splice(0)) p.destroy()
            plotsTitle = h("h2", null, "Readings")
            replace(el.plots, plotsTitle)
            channelsKey = key
            if (!channels.length) el.plots.append(h("p", { class: "muted" }, "No reading stored yet."))
            channels.forEach((ch, c) => {
                const box = h("div", { class: "plot", dataset: { channel: c } })
                const faultCount = h("span", { class: "faults" })
                el.plots.append(h("h3", null, ch.name + " (" + ch.unit + ") ", faultCount), box)
                const plot = new uPlot(plotOptions(ch, c, series, box), [series.data[0], series.data[c + 1]], box)
                plot.flFaultCount = faultCount
                plots.push(plot)
            })
        }
        // End-to-end encrypted readings (provision --encrypt): the gateway has times, no values.
        const encrypted = readings.readings.filter(r => r.encrypted).length
        plotsTitle.textContent =
            "Readings" +
            (blockRange().from ? " (newest " + BLOCK_LIST_LIMIT + " blocks)" : "") +
            (encrypted ? " · " + plural(encrypted, "reading") + " encrypted end to end: times only, values need the owner's data key" : "")
        plots.forEach((plot, c) => {
            plot.flSeries = series
            const faults = series.faults.filter(f => f.channel === c).length
            plot.flFaultCount.textContent = faults ? "· " + plural(faults, "missing value") : ""
            plot.flFaultCount.className = faults ? "faults warn" : "faults"
            plot.setData([series.data[0], series.data[c + 1]])
        })
    }

    function plotOptions(ch, c, series, box) {
        return {
            width: Math.max(320, (box.parentElement || main).clientWidth - 8 || 900),
            height: 220,
            cursor: { sync: { key: "fl-" + id } },
            legend: { show: true },
            scales: { x: { time: series.timed } },
            axes: [
                series.timed
                    ? {}
                    : { space: 110, incrs: INDEX_STEPS, values: (u, ticks) => ticks.map(t => (u.flSeries || series).labelAt(t)) },
                { label: ch.unit, size: 60 },
            ],
            series: [
                {
                    label: series.timed ? "time" : "reading",
                    value: (u, v) => (v === null || v === undefined ? "–" : (u.flSeries || series).labelAt(v)),
                },
                { label: ch.name, stroke: COLOURS[c % COLOURS.length], width: 1.5, spanGaps: false, points: { show: true, size: 4 } },
            ],
            hooks: { draw: [u => drawMarks(u, c)] },
        }
    }

    /** Gap bands and fault marks as elements over the chart (uPlot's `over` layer). */
    function drawMarks(u, c) {
        const series = u.flSeries
        if (!series) return
        for (const old of u.over.querySelectorAll(".gap-band, .fault-mark")) old.remove()
        for (const b of series.bands) {
            const left = u.valToPos(b.x0, "x")
            const right = u.valToPos(b.x1, "x")
            const width = Math.max(6, right - left)
            u.over.append(
                h("div", {
                    class: "gap-band",
                    title: "gap record seq " + b.gap.seq + ": " + gapText(b.gap),
                    style: "left:" + (left + (right - left) / 2 - width / 2) + "px;width:" + width + "px",
                })
            )
        }
        for (const f of series.faults) {
            if (f.channel !== c) continue
            u.over.append(
                h("div", {
                    class: "fault-mark",
                    title: "missing value (sensor fault) at " + f.label,
                    style: "left:" + (u.valToPos(f.x, "x") - 4) + "px",
                })
            )
        }
    }

    function renderChain(blocks, events) {
        const gapAt = new Map((lastGaps || []).map(g => [g.seq, g]))
        const rejectedAt = new Map()
        for (const e of events)
            if (e.seq !== null && e.seq !== undefined) rejectedAt.set(e.seq, (rejectedAt.get(e.seq) || []).concat(e.kind))
        const rows = [...blocks].reverse().map(b => {
            const t = { boot: b.boot, uptimeMs: b.uptimeMs, unixTime: b.unixTime }
            const rejected = rejectedAt.get(b.seq)
            const status = h(
                "td",
                { class: "status" },
                h("span", { class: "good" }, "✓ verified"),
                rejected ? h("span", { class: "bad" }, " · other copy rejected (" + rejected.join(", ") + ")") : null
            )
            const what =
                b.type === "gap"
                    ? h("span", { class: "warn" }, "gap: " + lostText(b.lostReadings, isUpperBound([gapAt.get(b.seq)])))
                    : b.type
            return h(
                "tr",
                { class: "block " + b.type + (knownSeqs.size && !knownSeqs.has(b.seq) ? " new" : ""), dataset: { seq: b.seq } },
                h("td", { class: "num" }, b.seq),
                h("td", null, what),
                h("td", null, blockTimeText(t)),
                h("td", { class: "num" }, b.readings),
                h("td", null, h("code", null, b.hash)),
                status
            )
        })
        knownSeqs = new Set(blocks.map(b => b.seq))
        replace(
            el.chain,
            h(
                "h2",
                null,
                "Chain (" + plural(blocks.length, "block") + (blocks.length >= BLOCK_LIST_LIMIT ? ", newest " + BLOCK_LIST_LIMIT : "") + ")"
            ),
            h(
                "p",
                { class: "muted" },
                "Every stored block passed the gateway's checks at ingest: its tag under its own epoch key, its link to the block before, its seq."
            ),
            h(
                "div",
                { class: "scroll" },
                h(
                    "table",
                    { class: "blocks" },
                    h(
                        "thead",
                        null,
                        h(
                            "tr",
                            null,
                            ["Seq", "Record", "Time", "Readings", "Hash", "Status"].map(t => h("th", null, t))
                        )
                    ),
                    h("tbody", null, rows)
                )
            )
        )
    }

    let pending = Promise.resolve()
    async function refresh(payload) {
        if (payload) lastPayload = payload
        const data = await load()
        lastDevice = data.device
        lastGaps = data.gaps
        renderFacts(data.device, lastPayload)
        renderAlerts(data.events, data.gaps)
        renderPlots(data.readings, data.gaps)
        renderChain(data.blocks, data.events)
        main.dataset.headSeq = data.device.head ? data.device.head.seq : ""
    }

    /** The device as the fleet message has it (null when it is not in it). */
    function deviceIn(payload) {
        return (payload && payload.devices.find(x => x.deviceId === id)) || null
    }

    return {
        /** Re-renders the state and "last seen" at the fleet message's time, loading nothing. */
        age(payload) {
            const d = deviceIn(payload)
            if (!d) return Promise.resolve()
            lastPayload = payload
            pending = pending.then(() => {
                if (lastDevice) renderFacts({ ...lastDevice, ...d }, payload)
            })
            return pending
        },
        /** Loads and renders; later calls queue behind the one running. */
        update(payload) {
            pending = pending
                .then(() => refresh(payload))
                .catch(e => {
                    replace(el.alerts, h("p", { class: "bad" }, "Could not load the device: " + e.message))
                })
            return pending
        },
        plots,
    }
}
