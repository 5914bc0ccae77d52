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
    encryptedSeqs,
    fillDecrypted,
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
        decrypt: h("section", { class: "decrypt", id: "decrypt", hidden: true }),
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
        el.decrypt,
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
    const decryption = createDecryption(id, base, () => update())

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
            plotsTitle = h("h2", { id: "readings-title" }, "Readings")
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
        // End-to-end encrypted readings (provision --encrypt): the gateway has times, no values;
        // the owner's data key, given to this page, decrypts them here (see createDecryption).
        const encrypted = readings.readings.filter(r => r.encrypted).length
        const decrypted = readings.readings.filter(r => r.decrypted).length
        plotsTitle.textContent =
            "Readings" +
            (blockRange().from ? " (newest " + BLOCK_LIST_LIMIT + " blocks)" : "") +
            (encrypted && decrypted === encrypted
                ? " · " + plural(decrypted, "reading") + " decrypted in this browser"
                : encrypted
                  ? " · " + plural(encrypted - decrypted, "reading") + " encrypted end to end: times only, values need the owner's data key"
                  : "")
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
        await decryption.fill(data.readings, el.decrypt)
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

    /** Loads and renders; later calls queue behind the one running. */
    function update(payload) {
        pending = pending
            .then(() => refresh(payload))
            .catch(e => {
                replace(el.alerts, h("p", { class: "bad" }, "Could not load the device: " + e.message))
            })
        return pending
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
        update,
        plots,
    }
}

/**
 * The owner's side of end-to-end encrypted readings, in the page (docs/DASHBOARD.md, "Encrypted
 * readings"): a form takes the data key file (or its 64 hex digits); /dashboard/decrypt.js,
 * loaded only then, evolves the key to each block's and decrypts with WebCrypto. The key lives
 * in this closure only: never sent, never stored, gone on reload or "Forget the key".
 * `reload` renders the device again once a key is given or forgotten.
 */
function createDecryption(id, base, reload) {
    /** The device's key chain (decrypt.js DataKeyChain) while the owner's key is given. */
    let keys = null
    /** seq -> decrypted values per reading, for the key given. */
    let decrypted = new Map()
    let error = ""
    let progress = ""
    /** The readings last filled (the download is made from them) and the download's object URL. */
    let shown
    let csvUrl
    /** decrypt.js, imported on first use; `loaded` once it is (the download link is made synchronously from it). */
    let loading
    let loaded
    const load = () => (loading ??= import("/dashboard/decrypt.js").then(m => (loaded = m)))

    function forget(message) {
        keys = null
        decrypted = new Map()
        error = message || ""
        if (csvUrl) URL.revokeObjectURL(csvUrl)
        csvUrl = undefined
    }

    /** Decrypts what `readings` holds encrypted (block bytes fetched for blocks not done yet), fills it in, and renders the form. */
    async function fill(readings, section) {
        shown = readings
        const seqs = encryptedSeqs(readings.readings)
        if (keys && seqs.length) {
            const missing = new Set(seqs.filter(seq => !decrypted.has(seq)))
            if (missing.size) {
                error = ""
                try {
                    const range = "from=" + Math.min(...missing) + "&to=" + Math.max(...missing) + "&bytes=1"
                    const blocks = (await getJson(base + "/blocks?" + range)).blocks.filter(b => missing.has(b.seq))
                    const got = await (
                        await load()
                    ).decryptBlocks(keys, readings.channels || [], blocks, (done, total) => {
                        progress = "decrypting… " + done + " / " + total + " blocks"
                        if (done % 50 === 0) render(section, seqs.length)
                    })
                    for (const [seq, values] of got) decrypted.set(seq, values)
                } catch (e) {
                    // A key that does not decrypt is forgotten; anything else (the gateway
                    // unreachable, say) keeps it for the next update.
                    if (e.name === "DataKeyError") forget(e.message)
                    else error = "Could not decrypt: " + e.message
                }
                progress = ""
            }
            fillDecrypted(readings.readings, decrypted)
        }
        render(section, seqs.length)
    }

    /**
     * The readings on the page with their decrypted values, as the gateway's CSV would have them
     * with the key: the file is made when the link is clicked, not on every update.
     */
    function csvLink() {
        if (!loaded || !shown) return null
        const link = h("a", { href: "#", download: id + "-decrypted.csv", id: "decrypted-csv" }, "Decrypted readings as CSV")
        link.addEventListener("click", () => {
            if (csvUrl) URL.revokeObjectURL(csvUrl)
            const text = loaded.readingsCsv(shown.channels || [], shown.readings) + "\n"
            csvUrl = URL.createObjectURL(new Blob([text], { type: "text/csv" }))
            link.href = csvUrl
        })
        return [link, " (the readings on this page; every reading: ", h("code", null, "fieldledger verify EXPORT --data-key FILE"), ")"]
    }

    function render(section, encryptedBlocks) {
        section.hidden = encryptedBlocks === 0 && !error
        if (section.hidden) return
        const title = h("h2", null, "Encrypted readings")
        if (keys) {
            const forgetButton = h("button", { type: "button", id: "data-key-forget" }, "Forget the key")
            forgetButton.addEventListener("click", () => {
                forget()
                reload()
            })
            replace(
                section,
                title,
                h(
                    "p",
                    { class: "good", id: "data-key-state" },
                    progress ||
                        plural(decrypted.size, "block") +
                            " decrypted in this browser with the data key: it stays in this page's memory, never sent to the gateway. "
                ),
                error ? h("p", { class: "bad", role: "alert", id: "data-key-error" }, error) : null,
                progress ? null : h("p", null, csvLink()),
                forgetButton
            )
            return
        }
        const secure = !!(window.isSecureContext && globalThis.crypto && crypto.subtle)
        const file = h("input", { type: "file", id: "data-key-file", "aria-label": "data key file" })
        const text = h("input", {
            type: "password",
            id: "data-key-text",
            autocomplete: "off",
            spellcheck: "false",
            placeholder: "or paste its 64 hex digits",
            "aria-label": "data key (64 hex digits)",
        })
        const button = h("button", { type: "submit" }, "Decrypt in this browser")
        const form = h("form", { id: "data-key-form", class: "data-key" }, file, text, button)
        for (const input of [file, text, button]) input.disabled = !secure
        form.addEventListener("submit", async event => {
            event.preventDefault()
            try {
                const source = file.files && file.files[0] ? await file.files[0].text() : text.value
                keys = (await load()).dataKeyChain(id, source)
                decrypted = new Map()
                error = ""
            } catch (e) {
                forget(e.message)
            }
            file.value = ""
            text.value = ""
            reload()
        })
        replace(
            section,
            title,
            h(
                "p",
                { class: "muted" },
                "This device's readings are encrypted end to end: the gateway stores only ciphertext and shows their times and counts, not their values. ",
                "The data owner can decrypt them here with the data key file from ",
                h("code", null, "fieldledger provision --encrypt"),
                ": this page reads it and keeps it in memory only (it is never sent to the gateway nor stored; reloading forgets it)."
            ),
            secure
                ? null
                : h(
                      "p",
                      { class: "warn" },
                      "Decrypting needs the dashboard over https (or on localhost): over plain http anyone on the network path could change this page's scripts and take the key. Offline: ",
                      h("code", null, "fieldledger verify EXPORT --data-key FILE"),
                      "."
                  ),
            form,
            error ? h("p", { class: "bad", role: "alert", id: "data-key-error" }, error) : null
        )
    }

    return { fill }
}
