/**
 * The device's side of USB sync (src/lib/sync/usbwire.ts): the `post()` that syncRound calls when
 * FL_GATEWAY is "usb". Instead of a socket it publishes the batch's nonce (with the backlog
 * and the slot ring size) in setting fl_bnonce, and waits for `fieldledger bridge` to read
 * the blocks over the bus, post them to the gateway and write the reply to fl_brep. The reply
 * is returned as if it came over HTTP: syncRound checks the signed ack and prunes as always.
 *
 * The clock and the flash come in as functions (src/uplink/usblink.ts binds the runtime's), so
 * the Node tests run it against the host bridge in process.
 */
import { copyBytes } from "../codec/bytes"
import { BRIDGE_REPLY_SETTING, BRIDGE_REQUEST_SETTING } from "../flash/keys"
import { KeyValueStore, writeVerified } from "../flash/verified"
import { SyncReply } from "./syncround"
import { BATCH_NONCE_BYTES } from "./syncwire"
import { encodeBridgeRequest, readBridgeReply } from "./usbwire"

export interface UsbTransportOptions {
    kv: KeyValueStore
    /** The chain store's slot ring size (the bridge needs it to find the blocks). */
    slots: number
    /** How long a round waits for the bridge's reply. */
    timeoutMs: number
    /** Time between looks at the reply setting. */
    pollMs: number
    now(): number
    sleep(ms: number): Promise<void>
}

async function deleteIfPresent(kv: KeyValueStore, key: string) {
    // Every delete is a flash entry: skip it when there is nothing to delete.
    if (await kv.get(key)) await kv.delete(key)
}

/** A syncRound `post()` over the settings the bridge reads and writes. Throws when no reply comes. */
export function usbPost(o: UsbTransportOptions): (body: Buffer, backlog: number) => Promise<SyncReply> {
    return async (body: Buffer, backlog: number): Promise<SyncReply> => {
        // The batch is version u8 || nonce || blocks: the bridge rebuilds it from flash.
        const nonce = copyBytes(body, 1, BATCH_NONCE_BYTES)
        await deleteIfPresent(o.kv, BRIDGE_REPLY_SETTING) // an earlier round's, too late
        const request = encodeBridgeRequest({ nonce: nonce, backlog: backlog, slots: o.slots })
        // A StorageError (full flash, say) fails the round like a network error: sync backs off.
        await writeVerified(o.kv, BRIDGE_REQUEST_SETTING, request)
        const deadline = o.now() + o.timeoutMs
        try {
            while (true) {
                const raw = await o.kv.get(BRIDGE_REPLY_SETTING)
                if (raw) {
                    await o.kv.delete(BRIDGE_REPLY_SETTING)
                    const reply = readBridgeReply(raw.toString("utf-8"))
                    if (!reply) throw new Error("unreadable reply from the bridge")
                    return reply
                }
                if (o.now() >= deadline) throw new Error("no reply from a USB bridge within " + o.timeoutMs + " ms")
                await o.sleep(o.pollMs)
            }
        } finally {
            await deleteIfPresent(o.kv, BRIDGE_REQUEST_SETTING)
        }
    }
}
