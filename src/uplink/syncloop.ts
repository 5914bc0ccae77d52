/**
 * Sync on the device: a timer chain, beside sampling and never in its way, that posts the
 * backlog to the gateway (src/lib/sync/syncround.ts), forgets what the gateway acknowledged, learns the
 * wall-clock time from the signed ack, and backs off exponentially with jitter while the
 * gateway is unreachable or refuses.
 */
import * as ds from "@devicescript/core"
import { randomBuffer } from "@devicescript/crypto"
import { httpPost } from "./httppost"
import { backoffDelayMs } from "../lib/sync/backoff"
import { toHex } from "../lib/codec/bytes"
import { ChainStore } from "../lib/store/chainstore"
import { LedgerCrypto } from "../lib/ledger/keys"
import { SyncResult, syncRound } from "../lib/sync/syncround"
import { syncUrl } from "../lib/sync/gatewayurl"
import { BATCH_NONCE_BYTES } from "../lib/sync/syncwire"
import { USB_GATEWAY } from "../lib/sync/usbwire"
import { usbTransport, USB_REPLY_TIMEOUT_MS } from "./usblink"
import { errorLine } from "../lib/log/lines"

export interface SyncOptions {
    store: ChainStore
    crypto: LedgerCrypto
    deviceId: Buffer
    ackKey: Buffer
    /** e.g. http://192.168.1.20:8787 (src/lib/sync/gatewayurl.ts), or "usb": through `fieldledger bridge` (src/uplink/usblink.ts). */
    gatewayUrl: string
    /** The chain store's slot ring (USB sync tells the bridge where the blocks are). */
    slots: number
    /** Time between rounds while all is well. */
    periodMs: number
    /** Longest wait between tries while the gateway is unreachable. */
    maxBackoffMs: number
    requestTimeoutMs: number
    acknowledge(seq: number): Promise<void>
    /** Told about every round that sent something. */
    onResult(result: SyncResult, uptimeMs: number): void
}

export function startSync(o: SyncOptions) {
    const idHex = toHex(o.deviceId)
    const post =
        o.gatewayUrl === USB_GATEWAY
            ? usbTransport(o.slots, USB_REPLY_TIMEOUT_MS)
            : async (body: Buffer, backlog: number) =>
                  await httpPost(syncUrl(o.gatewayUrl, idHex, backlog), body, "application/octet-stream", o.requestTimeoutMs)
    let failures = 0
    let running = true
    let timer = 0

    const round = async (): Promise<SyncResult> =>
        await syncRound({
            store: o.store,
            crypto: o.crypto,
            deviceId: o.deviceId,
            ackKey: o.ackKey,
            nonce: () => randomBuffer(BATCH_NONCE_BYTES),
            acknowledge: o.acknowledge,
            post: post,
        })

    const tick = async () => {
        if (!running) return
        let wait = o.periodMs
        try {
            const result = await round()
            if (result.outcome !== "idle") o.onResult(result, ds.millis())
            if (result.outcome === "synced" || result.outcome === "idle") {
                failures = 0
                if (result.more) wait = 0
            } else {
                failures++
                wait = backoffDelayMs({ baseMs: o.periodMs, maxMs: o.maxBackoffMs }, failures, Math.random())
            }
        } catch (e) {
            failures++
            wait = backoffDelayMs({ baseMs: o.periodMs, maxMs: o.maxBackoffMs }, failures, Math.random())
            console.log(errorLine("sync: " + (e as Error).message))
        }
        if (running) timer = setTimeout(tick, wait)
    }
    timer = setTimeout(tick, 0)
    return {
        stop: () => {
            running = false
            clearTimeout(timer)
        },
    }
}
