/**
 * USB sync (`FL_GATEWAY=usb`, docs/PROVISIONING.md "USB sync"): a board without a network
 * hands its sync round to `fieldledger bridge` on the host it is plugged into, through two
 * settings that both sides read and write over the Jacdac bus. Pure and shared: the firmware
 * (src/uplink/usblink.ts) writes the request and reads the reply, the bridge (tools/lib/bridge.ts)
 * the other way round.
 *
 * request (setting fl_bnonce, written by the device while a round waits):
 *   version u8 (1) || batch nonce (8 bytes) || varint(backlog) || varint(slots)
 * reply (setting fl_brep, written by the bridge): the gateway's JSON reply trimmed to the
 *   signed-ack members and the error code, plus the HTTP status:
 *   {"status":200,"ack":41,"head":"<64 hex>","time":1767323045,"tag":"<32 hex>"}
 *
 * Nothing here is trusted: the device runs the same readSignedAck over the reply as over an
 * HTTP one, so a reply for another nonce, or one a host made up, fails the tag check.
 */
import { ByteReader, ByteWriter, FormatError } from "../codec/bytes"
import { BATCH_NONCE_BYTES } from "./syncwire"
import { BRIDGE_REPLY_SETTING } from "../flash/keys"
/** What the FL_GATEWAY setting holds on a device synced over USB. */
export const USB_GATEWAY = "usb"
export const BRIDGE_REQUEST_VERSION = 1
/** A setting's key + 1 + value must stay within 232 bytes (docs/DEVICESCRIPT.md, Flash and the settings store). */
export const MAX_BRIDGE_REPLY_BYTES = 232 - 1 - BRIDGE_REPLY_SETTING.length
/** The error code is a hint only (not signed); it is cut to this length. */
export const MAX_BRIDGE_ERROR_CHARS = 40

export interface BridgeRequest {
    nonce: Buffer
    /** Blocks the device holds (the gateway's ?backlog=). */
    backlog: number
    /** The device's slot ring size: where each backlog block lives (chainstore.ts blockKey). */
    slots: number
}

export interface BridgeReply {
    status: number
    /** The reply body as syncRound reads it: JSON with the signed-ack members. */
    body: string
}

export function encodeBridgeRequest(r: BridgeRequest): Buffer {
    if (!r.nonce || r.nonce.length !== BATCH_NONCE_BYTES) throw new RangeError("nonce must be " + BATCH_NONCE_BYTES + " bytes")
    if (!(r.slots >= 1 && r.slots <= 255)) throw new RangeError("slots must be 1..255")
    return new ByteWriter(24).u8(BRIDGE_REQUEST_VERSION).bytes(r.nonce).varint(r.backlog).varint(r.slots).finish()
}

/** Strict: anything else than exactly a request is a FormatError. */
export function decodeBridgeRequest(value: Buffer): BridgeRequest {
    const r = new ByteReader(value, "bridge request")
    const version = r.u8("version")
    if (version !== BRIDGE_REQUEST_VERSION) throw new FormatError("bridge request version " + version + " unknown")
    const request: BridgeRequest = { nonce: r.bytes(BATCH_NONCE_BYTES, "nonce"), backlog: r.varint("backlog"), slots: r.varint("slots") }
    if (r.remaining() !== 0) throw new FormatError("bridge request has trailing bytes")
    if (request.slots < 1 || request.slots > 255) throw new FormatError("bridge request: " + request.slots + " slots")
    return request
}

/**
 * The members of a gateway reply the device uses, in at most MAX_BRIDGE_REPLY_BYTES: the
 * signed ack (ack, head, time, tag) when the reply carries one, and the error code. `status`
 * 0 means the bridge could not get an answer (the code says why).
 */
export function trimGatewayReply(status: number, reply: any): string {
    let text = trimmed(status, reply, true)
    if (text.length > MAX_BRIDGE_REPLY_BYTES) text = trimmed(status, reply, false)
    if (text.length > MAX_BRIDGE_REPLY_BYTES)
        throw new RangeError("trimmed reply of " + text.length + " bytes is over " + MAX_BRIDGE_REPLY_BYTES)
    return text
}

function trimmed(status: number, reply: any, withError: boolean): string {
    const out: any = { status: status }
    if (reply && typeof reply === "object") {
        if (typeof reply.ack === "number") out.ack = reply.ack
        if (typeof reply.head === "string" && reply.head.length <= 64) out.head = reply.head
        if (typeof reply.time === "number") out.time = reply.time
        if (typeof reply.tag === "string" && reply.tag.length <= 32) out.tag = reply.tag
        if (withError && typeof reply.error === "string") out.error = reply.error.slice(0, MAX_BRIDGE_ERROR_CHARS)
    }
    return JSON.stringify(out)
}

/** The stored reply as syncRound takes it; undefined when it is not one (the round then fails). */
export function readBridgeReply(text: string): BridgeReply | undefined {
    let doc: any = undefined
    try {
        doc = JSON.parse(text)
    } catch (e) {
        return undefined
    }
    if (!doc || typeof doc !== "object" || typeof doc.status !== "number") return undefined
    return { status: doc.status, body: text }
}
