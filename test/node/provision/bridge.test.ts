/**
 * `fieldledger bridge`'s logic (tools/lib/bridge.ts) against a fake device whose sync round is
 * the firmware's own (syncRound over the shared USB transport, src/lib/sync/usbpost.ts, on the
 * same settings), and the gateway in process: the gateway verifies and stores the chain, the
 * device prunes only on a signed ack for its own nonce.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { ChainStore } from "../../../src/lib/store/chainstore"
import { BRIDGE_REPLY_SETTING, BRIDGE_REQUEST_SETTING } from "../../../src/lib/flash/keys"
import {
    decodeBridgeRequest,
    encodeBridgeRequest,
    MAX_BRIDGE_REPLY_BYTES,
    readBridgeReply,
    trimGatewayReply,
} from "../../../src/lib/sync/usbwire"
import { startGateway, RunningGateway } from "../../../tools/gateway/server"
import { awaitDeviceTook, BridgeOptions, BridgeRound, bridgeRound, checkUsbMode } from "../../../tools/lib/bridge"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { DeviceSettings, settingValue } from "../../../tools/lib/provisioning"
import { FakeDevice, FAKE_ID } from "./fakedevice"

const TOKEN = "bridge-test-token"
const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))

/** The bridge, polling until it has handled one request. */
async function bridgeOnce(o: BridgeOptions, served = new Set<string>()): Promise<BridgeRound> {
    for (let i = 0; i < 400; i++) {
        const r = await bridgeRound(o, served)
        if (r.outcome !== "idle") return r
        await sleep(5)
    }
    throw new Error("the device never asked")
}

describe("fieldledger bridge", () => {
    let dir: string
    let gw: RunningGateway
    let d: FakeDevice
    let store: ChainStore
    let options: BridgeOptions

    beforeEach(async () => {
        dir = mkdtempSync(join(tmpdir(), "fl-bridge-"))
        gw = await startGateway({ db: join(dir, "gw.db"), port: 0, adminToken: TOKEN, masterKey: Buffer.alloc(32, 7) })
        d = new FakeDevice()
        store = (await d.boot(4)).store
        await d.kv.set("FL_GATEWAY", settingValue("usb"))
        const r = await fetch(gw.url + "/v1/devices", {
            method: "POST",
            headers: { authorization: "Bearer " + TOKEN, "content-type": "application/json" },
            body: JSON.stringify({ deviceId: FAKE_ID, key0: "77".repeat(32) }),
        })
        expect(r.status).toBe(201)
        options = { settings: d.settings, crypto: nodeCrypto, deviceId: FAKE_ID, gatewayUrl: gw.url }
    })

    afterEach(async () => {
        await gw.close()
        rmSync(dir, { recursive: true, force: true })
    })

    test("forwards the device's backlog; the gateway verifies it and the device prunes on the signed ack", async () => {
        const before = store.backlogBlocks()
        expect(before).toBe(5)
        const device = d.syncOverUsb(store)
        const round = await bridgeOnce(options)
        const result = await device
        expect(round).toMatchObject({ outcome: "forwarded", status: 200, sent: 5, firstSeq: 0, lastSeq: 4, backlog: 5, ack: 4 })
        // The bridge reports where the gateway logged the acked block (the device ignores it).
        expect(round.log).toMatchObject({ index: 4, size: 5 })
        expect(result.outcome).toBe("synced")
        expect(result.ack!.ack).toBe(4)
        expect(store.backlogBlocks()).toBe(0)
        expect(store.currentHead().oldestSeq).toBe(5)
        const view = await (await fetch(gw.url + "/v1/devices/" + FAKE_ID, { headers: { authorization: "Bearer " + TOKEN } })).json()
        expect(view.head.seq).toBe(4)
        expect(view.securityEvents).toBe(0)
        // The device reported 5 held and forgot them on the ack: the gateway shows what it holds now.
        expect(view.reportedBacklog).toBe(store.backlogBlocks())
        // Nothing left on the device.
        expect(await d.kv.get(BRIDGE_REQUEST_SETTING)).toBeUndefined()
        expect(await d.kv.get(BRIDGE_REPLY_SETTING)).toBeUndefined()
        expect(await awaitDeviceTook(options, round.nonce!, 1000)).toEqual({ backlog: 0, oldestSeq: 5, seq: 5, tookAck: true })
    })

    test("writes only its reply: never the chain, the head or a key", async () => {
        const writes: string[] = []
        const watched: DeviceSettings = {
            ...d.settings,
            set: async (k, v) => (writes.push(k), d.settings.set(k, v)),
            delete: async k => (writes.push("-" + k), d.settings.delete(k)),
        }
        const device = d.syncOverUsb(store)
        await bridgeOnce({ ...options, settings: watched })
        await device
        // Once, or twice when the device took the reply before the read-back (writeVerified's retry).
        expect([...new Set(writes)]).toEqual([BRIDGE_REPLY_SETTING])
    })

    test("gateway unreachable: the device is told at once and keeps every block", async () => {
        const device = d.syncOverUsb(store)
        const round = await bridgeOnce({ ...options, gatewayUrl: "http://127.0.0.1:9" })
        const result = await device
        expect(round.outcome).toBe("unreachable")
        expect(round.error).toMatch(/unreachable; the blocks stay on the device/)
        expect(result.outcome).toBe("failed")
        expect(result.error).toMatch(/gateway unreachable/)
        expect(store.backlogBlocks()).toBe(5)
        // The next round, with the gateway back, delivers them.
        const again = d.syncOverUsb(store)
        await bridgeOnce(options)
        expect((await again).outcome).toBe("synced")
        expect(store.backlogBlocks()).toBe(0)
    })

    test("no bridge: the device's round fails after its timeout and withdraws the request", async () => {
        const result = await d.syncOverUsb(store, 50)
        expect(result.outcome).toBe("failed")
        expect(result.error).toMatch(/no reply from a USB bridge/)
        expect(await d.kv.get(BRIDGE_REQUEST_SETTING)).toBeUndefined()
        expect(store.backlogBlocks()).toBe(5)
    })

    test("a reply that comes after the device's round timed out: the bridge sees the next round at once and serves it", async () => {
        // The bridge's reply write is held back until the device's round (200 ms) has ended.
        const slow: BridgeOptions = {
            ...options,
            settings: {
                get: key => d.settings.get(key),
                delete: key => d.settings.delete(key),
                set: async (key, value) => {
                    if (key === BRIDGE_REPLY_SETTING) await sleep(400)
                    await d.settings.set(key, value)
                },
            },
        }
        const first = d.syncOverUsb(store, 200)
        const served = new Set<string>()
        const late = await bridgeOnce(slow, served)
        expect(late).toMatchObject({ outcome: "forwarded", status: 200, ack: 4 })
        expect((await first).outcome).toBe("failed")
        // The device asks again; the wait for the late round's pruning ends on that, not on its timeout.
        const second = d.syncOverUsb(store)
        const started = Date.now()
        const afterLate = await awaitDeviceTook(options, late.nonce!, 20000, late.ack)
        expect(Date.now() - started).toBeLessThan(5000)
        expect(afterLate).toMatchObject({ tookAck: false, oldestSeq: 0 })
        const next = await bridgeOnce(options, served)
        expect(next.nonce).not.toBe(late.nonce)
        expect((await second).outcome).toBe("synced")
        expect(await awaitDeviceTook(options, next.nonce!, 5000, next.ack)).toMatchObject({ tookAck: true, oldestSeq: 5 })
    })

    test("a replayed reply (another round's nonce) fails the tag check: the device forgets nothing", async () => {
        const first = d.syncOverUsb(store)
        await bridgeOnce(options)
        await first
        // The device seals more; a host on the bus answers its next round with the old reply.
        store = (await d.boot(2)).store
        const oldReply = trimGatewayReply(200, { ack: 4, head: "00".repeat(32), time: 1, tag: "00".repeat(16) })
        const device = d.syncOverUsb(store)
        for (let i = 0; i < 100 && !(await d.kv.get(BRIDGE_REQUEST_SETTING)); i++) await sleep(5)
        await d.kv.set(BRIDGE_REPLY_SETTING, Buffer.from(oldReply))
        const result = await device
        expect(result.outcome).toBe("failed")
        expect(result.error).toMatch(/without a valid signed ack/)
        expect(store.backlogBlocks()).toBeGreaterThan(0)
    })

    test("the gateway's refusal reaches the device with its signed ack", async () => {
        // The device forgot its genesis unsent (acknowledged locally): the gateway misses seq 0.
        await store.acknowledge(0)
        const device = d.syncOverUsb(store)
        const round = await bridgeOnce(options)
        const result = await device
        expect(round.status).toBe(409)
        expect(round.error).toBe("missing-blocks")
        expect(result.outcome).toBe("rejected")
        expect(result.error).toBe("missing-blocks")
        expect(result.ack!.ack).toBe(-1)
    })

    test("refuses a device that does not sync over USB, naming what it does", async () => {
        await checkUsbMode(d.settings, FAKE_ID)
        await d.kv.set("FL_GATEWAY", settingValue("http://gw:8787"))
        await expect(checkUsbMode(d.settings, FAKE_ID)).rejects.toMatchObject({ code: "not-usb", message: /syncs to http:\/\/gw:8787/ })
        await d.kv.delete("FL_GATEWAY")
        await expect(checkUsbMode(d.settings, FAKE_ID)).rejects.toMatchObject({ code: "not-usb", hint: /--device-gateway usb/ })
    })

    test("serves each nonce once", async () => {
        const served = new Set<string>()
        const device = d.syncOverUsb(store)
        await bridgeOnce(options, served)
        await device
        await d.kv.set(
            BRIDGE_REQUEST_SETTING,
            encodeBridgeRequest({ nonce: Buffer.from([...served][0], "hex"), backlog: 0, slots: store.slots })
        )
        expect((await bridgeRound(options, served)).outcome).toBe("idle")
    })
})

describe("USB sync wire", () => {
    test("a request round-trips", () => {
        const r = decodeBridgeRequest(encodeBridgeRequest({ nonce: Buffer.alloc(8, 3), backlog: 300, slots: 30 }))
        expect(r).toEqual({ nonce: Buffer.alloc(8, 3), backlog: 300, slots: 30 })
    })

    test.each([
        ["empty", ""],
        ["version 2", "02" + "03".repeat(8) + "0101"],
        ["short nonce", "01" + "03".repeat(7)],
        ["trailing bytes", "01" + "03".repeat(8) + "010100"],
        ["0 slots", "01" + "03".repeat(8) + "0100"],
    ])("rejects a request: %s", (_, hex) => {
        expect(() => decodeBridgeRequest(Buffer.from(hex, "hex"))).toThrow()
    })

    test("the trimmed reply of the largest gateway answer fits one setting, with the signed members intact", () => {
        const reply = {
            ack: 2 ** 40,
            head: "ab".repeat(32),
            time: 4102444800,
            tag: "cd".repeat(16),
            error: "x".repeat(500),
            message: "m".repeat(900),
            expected: 7,
            stored: 1,
            duplicates: 2,
        }
        const text = trimGatewayReply(409, reply)
        expect(text.length).toBeLessThanOrEqual(MAX_BRIDGE_REPLY_BYTES)
        expect(JSON.parse(text)).toEqual({
            status: 409,
            ack: 2 ** 40,
            head: reply.head,
            time: reply.time,
            tag: reply.tag,
            error: "x".repeat(40),
        })
        expect(readBridgeReply(text)).toEqual({ status: 409, body: text })
        expect(readBridgeReply("not json")).toBeUndefined()
        expect(readBridgeReply('{"ack":1}')).toBeUndefined()
    })
})
