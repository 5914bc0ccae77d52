/**
 * `fieldledger bridge`, transport-independent: one device synced over USB (FL_GATEWAY=usb,
 * src/lib/sync/usbwire.ts). When the device's sync round publishes its batch nonce (setting
 * fl_bnonce), the bridge reads the head and the backlog slots over the bus exactly as the
 * device's own syncRound would (readBacklogBatch on a ChainStore over the settings), posts them
 * with the device's nonce as one batch to the gateway, and writes the gateway's reply, trimmed
 * to the signed ack, to fl_brep. The device checks the ack's tag over its nonce and its own
 * block hash, and only then forgets blocks: the bridge is as untrusted as any network.
 *
 * The bridge never writes the chain: it reads fl_head and the slots, writes only fl_brep.
 */
import { toHex } from "../../src/lib/codec/bytes"
import { ChainStore, StoredHead } from "../../src/lib/store/chainstore"
import { BRIDGE_REPLY_SETTING, BRIDGE_REQUEST_SETTING } from "../../src/lib/flash/keys"
import { KeyValueStore, StorageError, writeVerified } from "../../src/lib/flash/verified"
import { LedgerCrypto } from "../../src/lib/ledger/keys"
import { readBacklogBatch } from "../../src/lib/sync/syncround"
import { encodeBatch, MAX_BATCH_BYTES } from "../../src/lib/sync/syncwire"
import { BridgeRequest, decodeBridgeRequest, trimGatewayReply, USB_GATEWAY } from "../../src/lib/sync/usbwire"
import { syncUrl } from "../../src/lib/sync/gatewayurl"
import { FL_GATEWAY, SIMULATOR_GATEWAY_URL } from "../../src/lib/config/settings"
import { backlogOf, DeviceSettings, parseSetting, ProvisionError } from "./provisioning"

export interface BridgeOptions {
    settings: DeviceSettings
    crypto: LedgerCrypto
    /** 16 hex digits. */
    deviceId: string
    /** http(s)://host:port of the gateway. */
    gatewayUrl: string
    /** How long a gateway request may take (ms). */
    requestTimeoutMs?: number
    fetch?: typeof fetch
}

export interface BridgeRound {
    /**
     * idle: the device is not waiting (or waits for a reply already written);
     * forwarded: the gateway answered, its reply is on the device;
     * unreachable: no answer from the gateway, the device was told (it keeps its blocks);
     * empty: the device asked but flash held no block to send (told too).
     */
    outcome: "idle" | "forwarded" | "unreachable" | "empty"
    /** The device's batch nonce, hex. */
    nonce?: string
    /** Blocks forwarded, and their seq range. */
    sent: number
    firstSeq?: number
    lastSeq?: number
    /** What the device said it holds. */
    backlog?: number
    /** The gateway's HTTP status. */
    status?: number
    /** The gateway's ack (not checked here: the device checks it). */
    ack?: number
    /** Where the gateway logged the acked block (docs/API.md, "Sync"): leaf index, the log's size, the signed receipt. */
    log?: { index: number; size: number; receipt?: string }
    error?: string
}

/** The settings as the chain store's key-value store; the bridge never writes the chain through it. */
function readOnlyStore(settings: DeviceSettings): KeyValueStore {
    const refuse = async (key: string) => {
        throw new Error("the bridge does not write the device's chain (" + key + ")")
    }
    return { get: key => settings.get(key), set: refuse, delete: refuse }
}

/** Refuses a device that does not sync over USB: the bridge would wait for a round that never comes. */
export async function checkUsbMode(settings: DeviceSettings, deviceId: string) {
    const gateway = parseSetting(await settings.get(FL_GATEWAY.key))
    if (gateway === USB_GATEWAY) return
    const now =
        typeof gateway === "string" && gateway
            ? "it syncs to " + gateway + " itself"
            : "it has no gateway configured (the simulator's default is " + SIMULATOR_GATEWAY_URL + ")"
    throw new ProvisionError(
        "not-usb",
        "device " + deviceId + " is not set up for USB sync: " + now,
        "provision it with --device-gateway usb (fieldledger provision --force ... --device-gateway usb for a provisioned device)"
    )
}

/** The device's open request, if it has one. A request that does not decode is ignored (a torn write). */
export async function readRequest(settings: DeviceSettings): Promise<BridgeRequest | undefined> {
    const raw = await settings.get(BRIDGE_REQUEST_SETTING)
    if (!raw) return undefined
    try {
        return decodeBridgeRequest(raw)
    } catch {
        return undefined
    }
}

/** The device's head (undefined: no chain), read without writing anything. */
export async function readDeviceHead(
    settings: DeviceSettings,
    crypto: LedgerCrypto,
    deviceId: string,
    slots?: number
): Promise<StoredHead | undefined> {
    return await new ChainStore(readOnlyStore(settings), crypto, Buffer.from(deviceId, "hex"), slots).readHead()
}

async function postBatch(o: BridgeOptions, body: Buffer, backlog: number): Promise<{ status: number; doc: unknown } | undefined> {
    const url = syncUrl(o.gatewayUrl, o.deviceId, backlog)
    try {
        const r = await (o.fetch ?? fetch)(url, {
            method: "POST",
            headers: { "content-type": "application/octet-stream" },
            body: new Uint8Array(body),
            signal: AbortSignal.timeout(o.requestTimeoutMs ?? 15000),
        })
        const text = await r.text()
        let doc: unknown = undefined
        try {
            doc = JSON.parse(text)
        } catch {
            doc = undefined
        }
        return { status: r.status, doc }
    } catch {
        return undefined
    }
}

/**
 * Writes the reply for the round of `nonce`. The device may read and delete it at once, so a
 * reply not read back is fine when the device has moved on (its request is gone or another);
 * otherwise it is an error. (writeVerified may then write it a second time: the device deletes
 * a leftover reply before its next request.)
 */
async function writeReply(settings: DeviceSettings, nonce: Buffer, text: string) {
    try {
        await writeVerified(settings, BRIDGE_REPLY_SETTING, Buffer.from(text, "utf8"))
        return
    } catch (e) {
        if (!(e instanceof StorageError) || e.kind === "io") throw e
        const request = await readRequest(settings)
        if (!(await settings.get(BRIDGE_REPLY_SETTING)) && (!request || !request.nonce.equals(nonce))) return // taken already
        throw new ProvisionError(
            "write-failed",
            "the device did not keep the bridge's reply (setting " + BRIDGE_REPLY_SETTING + "; " + e.message + ")",
            "erase the device's settings and provision again"
        )
    }
}

/**
 * One look at the device: if it waits with a nonce not served yet (`served`, hex), forwards
 * its backlog and writes the reply. `served` is updated with the nonce handled.
 */
export async function bridgeRound(o: BridgeOptions, served: Set<string>): Promise<BridgeRound> {
    const request = await readRequest(o.settings)
    if (!request) return { outcome: "idle", sent: 0 }
    const nonce = toHex(request.nonce)
    if (served.has(nonce)) return { outcome: "idle", sent: 0, nonce }
    const base = { nonce, backlog: request.backlog }
    const store = new ChainStore(readOnlyStore(o.settings), o.crypto, Buffer.from(o.deviceId, "hex"), request.slots)
    const head = await store.readHead()
    const { blocks, lastSeq } = head ? await readBacklogBatch(store, MAX_BATCH_BYTES) : { blocks: [] as Buffer[], lastSeq: -1 }
    head?.key.fill(0) // read with the head; never needed here
    served.add(nonce)
    if (blocks.length === 0) {
        await writeReply(o.settings, request.nonce, trimGatewayReply(0, { error: "bridge: no block in flash" }))
        return { ...base, outcome: "empty", sent: 0, error: "the device asked, but its flash held no block to send" }
    }
    const range = { sent: blocks.length, firstSeq: lastSeq - blocks.length + 1, lastSeq }
    const answer = await postBatch(o, encodeBatch(request.nonce, blocks), request.backlog)
    if (!answer) {
        await writeReply(o.settings, request.nonce, trimGatewayReply(0, { error: "bridge: gateway unreachable" }))
        return {
            ...base,
            ...range,
            outcome: "unreachable",
            error: "the gateway at " + o.gatewayUrl + " is unreachable; the blocks stay on the device",
        }
    }
    const doc = answer.doc as { ack?: unknown; error?: unknown; logIndex?: unknown; logSize?: unknown; logReceipt?: unknown } | undefined
    await writeReply(o.settings, request.nonce, trimGatewayReply(answer.status, doc))
    // The log position stays with the bridge (the device ignores it): it is reported, and the receipt kept by whoever runs the bridge.
    const log =
        doc && Number.isSafeInteger(doc.logIndex) && Number.isSafeInteger(doc.logSize)
            ? {
                  index: doc.logIndex as number,
                  size: doc.logSize as number,
                  receipt: typeof doc.logReceipt === "string" ? doc.logReceipt : undefined,
              }
            : undefined
    return {
        ...base,
        ...range,
        outcome: "forwarded",
        status: answer.status,
        ack: doc && typeof doc.ack === "number" ? doc.ack : undefined,
        log,
        error: doc && typeof doc.error === "string" ? doc.error : answer.status >= 300 ? "status " + answer.status : undefined,
    }
}

/** The device's backlog after a round, and whether its head shows the acknowledgement taken. */
export interface DeviceAfterRound {
    backlog: number
    oldestSeq: number
    seq: number
    tookAck: boolean
}

/**
 * After a forwarded round: waits until the device has taken the reply (its request is gone or
 * another) and, when the gateway acknowledged `ack`, until its head shows the pruning (the
 * device removes its request before it checks the ack and writes the head). Then reads its
 * head. Undefined: it did not take the reply within `timeoutMs`.
 *
 * A device whose round timed out before the reply came withdraws its request and, later,
 * asks again with another nonce without having pruned: a new request while the head shows no
 * pruning ends the wait at once (`tookAck` false), so the caller can serve the new round.
 */
export async function awaitDeviceTook(
    o: BridgeOptions,
    nonce: string,
    timeoutMs: number,
    ack = -1,
    sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))
): Promise<DeviceAfterRound | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
        const request = await readRequest(o.settings)
        if (!request || toHex(request.nonce) !== nonce) break
        if (Date.now() > deadline) return undefined
        await sleep(200)
    }
    for (;;) {
        const head = await readDeviceHead(o.settings, o.crypto, o.deviceId)
        if (!head) return undefined
        const out = { backlog: backlogOf(head), oldestSeq: head.oldestSeq, seq: head.seq, tookAck: head.oldestSeq > ack }
        head.key.fill(0)
        // A device that refused the ack (not its chain) never prunes: report what it holds.
        if (out.tookAck || Date.now() > deadline) return out
        const request = await readRequest(o.settings)
        if (request && toHex(request.nonce) !== nonce) return out
        await sleep(200)
    }
}
