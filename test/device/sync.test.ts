/**
 * The sync protocol's shared code on the device: batches, the signed ack under the runtime's
 * native HMAC, the HTTP reply parser and the backoff (the Node suites check the same code on
 * Node; the end-to-end suite runs the whole firmware against the gateway).
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { backoffDelayMs } from "../../src/lib/sync/backoff"
import { toHex } from "../../src/lib/codec/bytes"
import { parseHttpReply } from "../../src/lib/sync/httpreply"
import { ackTag, decodeBatch, deriveAckKey, encodeBatch, readSignedAck } from "../../src/lib/sync/syncwire"
import { WallClock } from "../../src/lib/sync/wallclock"
import { BridgeRequest, decodeBridgeRequest, trimGatewayReply } from "../../src/lib/sync/usbwire"
import { BRIDGE_REPLY_SETTING, BRIDGE_REQUEST_SETTING } from "../../src/lib/flash/keys"
import { settingsStore } from "../../src/device/settingsstore"
import { usbTransport } from "../../src/uplink/usblink"

const deviceId = Buffer.from("12abdd2289421234", "hex")

function filled(n: number, v: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = v
    return b
}

describe("sync protocol on the device", () => {
    test("a batch round-trips and a signed ack verifies only for its own nonce", () => {
        const nonce = filled(8, 7)
        const blocks = [filled(40, 1), filled(200, 2)]
        const batch = decodeBatch(encodeBatch(nonce, blocks))
        expect(batch.blocks.length).toBe(2)
        expect(batch.blocks[1].length).toBe(200)
        const key = deriveAckKey(deviceCrypto, filled(32, 3), deviceId)
        const ack = { ack: 41, head: filled(32, 9), time: 1764000000 }
        const reply = { ack: 41, head: toHex(ack.head), time: ack.time, tag: toHex(ackTag(deviceCrypto, key, deviceId, nonce, ack)) }
        const checked = readSignedAck(deviceCrypto, key, deviceId, nonce, JSON.parse(JSON.stringify(reply)))
        expect(checked.ack).toBe(41)
        expect(checked.time).toBe(1764000000)
        expect(readSignedAck(deviceCrypto, key, deviceId, filled(8, 8), reply)).toBe(undefined)
    })

    test("parses a gateway reply and rejects a truncated one", () => {
        const reply = parseHttpReply(
            Buffer.from('HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}')
        )
        expect(reply.status).toBe(409)
        expect(reply.body).toBe('{"a":1}')
        expect(() => parseHttpReply(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{}"))).toThrow()
    })

    test("backs off exponentially with jitter and keeps time from the ack", () => {
        expect(backoffDelayMs({ baseMs: 1000, maxMs: 30000 }, 3, 0)).toBe(2000)
        expect(backoffDelayMs({ baseMs: 1000, maxMs: 30000 }, 40, 0.5)).toBe(22500)
        const clock = new WallClock()
        clock.set(1764000000, 5000)
        expect(clock.unixSecondsAt(65000)).toBe(1764000060)
    })
})

describe("USB sync transport on the device", () => {
    test("publishes the nonce, returns the bridge's reply and leaves no setting behind", async () => {
        const nonce = filled(8, 5)
        const post = usbTransport(30, 5000)
        let seen: BridgeRequest = undefined
        // The bridge, played by another fiber over the same settings.
        setTimeout(async () => {
            try {
                let raw: Buffer = undefined
                for (let i = 0; i < 40 && !raw; i++) {
                    await ds.sleep(100)
                    raw = await settingsStore.get(BRIDGE_REQUEST_SETTING)
                }
                seen = decodeBridgeRequest(raw)
                await settingsStore.set(
                    BRIDGE_REPLY_SETTING,
                    Buffer.from(
                        trimGatewayReply(409, {
                            ack: 3,
                            head: toHex(filled(32, 1)),
                            time: 1764000000,
                            tag: toHex(filled(16, 2)),
                            error: "missing-blocks",
                            expected: 4,
                        })
                    )
                )
            } catch (e) {
                console.log("bridge fiber: " + (e as Error).message)
            }
        }, 0)
        const reply = await post(encodeBatch(nonce, [filled(40, 1)]), 3)
        expect(reply.status).toBe(409)
        expect(JSON.parse(reply.body).ack).toBe(3)
        expect(JSON.parse(reply.body).error).toBe("missing-blocks")
        expect(toHex(seen.nonce)).toBe(toHex(nonce))
        expect(seen.backlog).toBe(3)
        expect(seen.slots).toBe(30)
        expect(await settingsStore.get(BRIDGE_REQUEST_SETTING)).toBe(undefined)
        expect(await settingsStore.get(BRIDGE_REPLY_SETTING)).toBe(undefined)
    })

    test("without a bridge the round fails after the timeout and withdraws its request", async () => {
        const post = usbTransport(30, 600)
        let failed = ""
        try {
            await post(encodeBatch(filled(8, 6), [filled(40, 1)]), 1)
        } catch (e) {
            failed = (e as Error).message
        }
        expect(failed.indexOf("no reply from a USB bridge") >= 0).toBe(true)
        expect(await settingsStore.get(BRIDGE_REQUEST_SETTING)).toBe(undefined)
    })
})
