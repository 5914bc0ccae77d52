/**
 * USB sync on the device (FL_GATEWAY=usb, for boards without a network such as the Pico): the
 * shared transport (src/lib/sync/usbpost.ts) on the runtime's clock and settings store.
 */
import * as ds from "@devicescript/core"
import { SyncReply } from "../lib/sync/syncround"
import { usbPost } from "../lib/sync/usbpost"
import { settingsStore } from "../device/settingsstore"

/** A round waits this long for `fieldledger bridge`; then it fails and sync backs off. */
export const USB_REPLY_TIMEOUT_MS = 30000
const USB_POLL_MS = 250

export function usbTransport(slots: number, timeoutMs: number): (body: Buffer, backlog: number) => Promise<SyncReply> {
    return usbPost({
        kv: settingsStore,
        slots: slots,
        timeoutMs: timeoutMs,
        pollMs: USB_POLL_MS,
        now: () => ds.millis(),
        sleep: async (ms: number) => {
            await ds.sleep(ms)
        },
    })
}
