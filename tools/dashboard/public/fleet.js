/** The fleet view: one row per device, coloured by state (healthy, stale, alarm). */
import { h, replace } from "./dom.js"
import { cadenceText, deviceState, duration, isUpperBound, lostText, plural, verificationText } from "./model.js"

export function renderFleet(main, payload) {
    const { devices, now, staleAfterMs } = payload
    const states = devices.map(d => deviceState(d, now, staleAfterMs))
    const count = s => states.filter(x => x.state === s).length
    const summary = h(
        "div",
        { class: "summary" },
        h("span", { class: "chip healthy" }, count("healthy") + " healthy"),
        h("span", { class: "chip stale" }, count("stale") + " stale"),
        h("span", { class: "chip alarm" }, count("alarm") + " alarm"),
        h(
            "span",
            { class: "muted" },
            plural(devices.length, "device") +
                " · a device is stale when not seen for " +
                duration(staleAfterMs) +
                " + twice its block period (it syncs when it seals a block)"
        )
    )
    const rows = devices.map((d, i) => fleetRow(d, states[i], now))
    const log = payload.log
    const logLine = h(
        "div",
        { class: "summary log", id: "log-checkpoint" },
        log
            ? h(
                  "span",
                  { class: "muted", title: "root " + log.root },
                  "Transparency log: signed checkpoint of " +
                      plural(log.size, "block") +
                      ", " +
                      duration(Math.max(0, now - Date.parse(log.time))) +
                      " ago (root " +
                      log.root.slice(0, 12) +
                      "…)"
              )
            : h("span", { class: "muted" }, "Transparency log: no signed checkpoint yet")
    )
    const table = h(
        "table",
        { class: "fleet" },
        h(
            "thead",
            null,
            h(
                "tr",
                null,
                [
                    "State",
                    "Device",
                    "Last seen",
                    "Head seq",
                    "Logged",
                    "Readings",
                    "Backlog",
                    "Verification",
                    "Gap records",
                    "Security events",
                ].map(t => h("th", null, t))
            )
        ),
        h("tbody", null, rows.length ? rows : h("tr", null, h("td", { colspan: 10, class: "muted" }, "No device registered yet.")))
    )
    replace(main, h("h1", null, "Fleet"), summary, logLine, h("div", { class: "scroll" }, table))
}

function fleetRow(d, st, now) {
    const href = "/devices/" + encodeURIComponent(d.deviceId)
    const seen = d.lastSeen ? duration(now - Date.parse(d.lastSeen)) + " ago" : "never"
    const gaps =
        d.gapRecords > 0
            ? h(
                  "div",
                  null,
                  h(
                      "span",
                      { class: "warn" },
                      lostText(d.readingsLost, isUpperBound(d.gapReasons)) +
                          (d.blocksLost > 0 ? ", " + plural(d.blocksLost, "block") + " dropped" : "")
                  ),
                  h(
                      "div",
                      { class: "why" },
                      (d.gapReasons || []).map(r => r.reason + " ×" + r.records + " (" + r.lostReadings + ")").join(", ") ||
                          plural(d.gapRecords, "gap record")
                  )
              )
            : h("span", { class: "muted" }, "none")
    const events =
        d.securityEvents > 0 ? h("span", { class: "bad" }, plural(d.securityEvents, "event")) : h("span", { class: "muted" }, "none")
    return h(
        "tr",
        { class: "device " + st.state, dataset: { device: d.deviceId, state: st.state } },
        h("td", null, h("span", { class: "chip " + st.state, title: st.why }, st.label)),
        h("td", null, h("a", { href }, d.label || d.deviceId), d.label ? h("div", { class: "id" }, d.deviceId) : null),
        h("td", { title: d.lastSeen || "" }, seen, cadenceText(d) ? h("div", { class: "why" }, cadenceText(d)) : null),
        h("td", { class: "num" }, d.head ? d.head.seq : "–"),
        h(
            "td",
            { class: "num logged", title: "the highest seq of this device in the latest signed checkpoint of the transparency log" },
            d.loggedUpTo >= 0 ? "logged up to seq " + d.loggedUpTo : "–"
        ),
        h("td", { class: "num" }, d.readings),
        h("td", { class: "num backlog", title: "blocks left in the device's flash after its last sync" }, d.reportedBacklog ?? "–"),
        h("td", null, verificationText(d)),
        h("td", { class: "gaps" }, gaps),
        h("td", { class: "events" }, events)
    )
}
