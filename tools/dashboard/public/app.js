/** The dashboard's entry: picks the view from the path and keeps it live. */
import { createDeviceView } from "./device.js"
import { renderFleet } from "./fleet.js"
import { h, replace } from "./dom.js"
import { DEVICE_ID, deviceSignature } from "./model.js"
import { subscribeFleet } from "./live.js"
import { showSession } from "./session.js"

const main = document.getElementById("main")
const path = location.pathname
const match = /^\/devices\/([^/]+)$/.exec(path)
/** For tests and the curious: the charts on the page and the last fleet message. */
const state = (window.fieldledger = { plots: [], fleet: null, updates: 0 })
showSession()

if (match) {
    const id = decodeURIComponent(match[1])
    if (!DEVICE_ID.test(id)) {
        replace(main, h("p", { class: "bad" }, "Not a device id: a device id is 16 lowercase hex digits."))
    } else {
        document.title = id + " · fieldledger"
        const view = createDeviceView(main, id)
        state.plots = view.plots
        let signature
        view.update().then(() => state.updates++)
        subscribeFleet(payload => {
            state.fleet = payload
            const d = payload.devices.find(x => x.deviceId === id)
            if (!d) return
            const s = deviceSignature(d)
            if (s === signature) {
                // Nothing new: the heartbeat's later `now` may still age the device's state.
                view.age(payload).then(() => state.updates++)
                return
            }
            signature = s
            view.update(payload).then(() => state.updates++)
        })
    }
} else {
    subscribeFleet(payload => {
        state.fleet = payload
        renderFleet(main, payload)
        state.updates++
    })
}
