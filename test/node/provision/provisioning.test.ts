/**
 * Provisioning without a bus: the tool's logic (tools/lib/provisioning.ts) against a fake device
 * whose "program restart" boots the shared firmware logic, and the gateway in process.
 */
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { ACK_KEY_SETTING, GENESIS_KEY, PROVISIONED_KEY_SETTING } from "../../../src/lib/flash/keys"
import { deriveAckKey } from "../../../src/lib/sync/syncwire"
import { verifyChain } from "../../../src/lib/ledger/verify"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { startGateway, RunningGateway } from "../../../tools/gateway/server"
import { createReadToken } from "../../../tools/gateway/tokencli"
import {
    addPendingRegistration,
    gatewayView,
    markProvisioned,
    newKey0,
    ProvisionError,
    readDeviceState,
    readPendingFile,
    registerWithGateway,
    settingValue,
    startChainOnDevice,
    uploadPending,
    validateConfig,
    writeConfig,
    DeviceSettings,
} from "../../../tools/lib/provisioning"
import { FakeDevice, FAKE_ID } from "./fakedevice"

const crypto = nodeCrypto
const TOKEN = "test-admin-token"
const noSleep = async () => {}

async function provision(device: FakeDevice, key0 = newKey0()) {
    const proof = await startChainOnDevice({
        settings: device.settings,
        crypto,
        deviceId: FAKE_ID,
        key0,
        restartProgram: device.restartProgram,
        sleep: noSleep,
        timeoutMs: 1000,
    })
    await markProvisioned(device.settings, 1767225600)
    return { key0, proof }
}

describe("device state from its settings", () => {
    test("an unprovisioned device with a chain under a random key: head, backlog, no pending key", async () => {
        const d = new FakeDevice()
        await d.boot(2)
        const s = await readDeviceState(d.settings, crypto, FAKE_ID)
        expect(s.provisioned).toBe(false)
        expect(s.pendingKey).toBe(false)
        expect(s.chain!.seq).toBe(3)
        expect(s.chain!.backlog).toBe(3)
        expect(s.chain!.developmentKey).toBe(false)
        expect(s.hasAckKey).toBe(true)
        expect(JSON.stringify(s)).not.toContain(Buffer.alloc(32, 0x77).toString("hex").slice(0, 16))
    })

    test("a device that never booted has no chain", async () => {
        const s = await readDeviceState(new FakeDevice().settings, crypto, FAKE_ID)
        expect(s.chain).toBe(undefined)
        expect(s.provisioned).toBe(false)
    })

    test("a head that does not decode is a ProvisionError bad-head", async () => {
        const d = new FakeDevice()
        await d.kv.set("fl_head", Buffer.from([9, 9, 9]))
        await expect(readDeviceState(d.settings, crypto, FAKE_ID)).rejects.toThrow(/does not decode/)
    })
})

describe("configuration", () => {
    test.each([
        [{ gatewayUrl: "ftp://x" }, /FL_GATEWAY.*neither an http\(s\) URL/],
        [{ gatewayUrl: "http://a b" }, /FL_GATEWAY/],
        [{ gatewayUrl: "USB" }, /FL_GATEWAY/],
        [{ intervalMs: 50 }, /intervalMs/],
        [{ intervalMs: 1.5 }, /intervalMs/],
        [{ blockAgeMs: 999 }, /blockAgeMs/],
        [{ backlog: 67 }, /backlog/],
    ])("rejects %j", (c, message) => {
        expect(() => validateConfig(c as any)).toThrow(message)
    })

    test("writes JSON values the firmware's readSetting parses, and reads them back", async () => {
        const d = new FakeDevice()
        const written = await writeConfig(d.settings, { gatewayUrl: "http://gw:8787", intervalMs: 60000, backlog: 20 })
        expect(written).toEqual({ FL_GATEWAY: "http://gw:8787", FL_INTERVAL: 60000, FL_BACKLOG: 20 })
        expect((await d.kv.get("FL_INTERVAL"))!.toString()).toBe("60000")
        expect((await d.kv.get("FL_GATEWAY"))!.toString()).toBe('"http://gw:8787"')
        expect((await readDeviceState(d.settings, crypto, FAKE_ID)).config).toEqual(written)
    })

    test("accepts usb: the device syncs through fieldledger bridge", async () => {
        const d = new FakeDevice()
        expect(await writeConfig(d.settings, { gatewayUrl: "usb" })).toEqual({ FL_GATEWAY: "usb" })
        expect((await d.kv.get("FL_GATEWAY"))!.toString()).toBe('"usb"')
    })

    test("a write the device drops (full flash) is an error, not a success", async () => {
        const d = new FakeDevice()
        const dropping: DeviceSettings = { ...d.settings, set: async () => {} }
        await expect(writeConfig(dropping, { intervalMs: 1000 })).rejects.toThrow(/did not keep setting FL_INTERVAL/)
    })
})

describe("the device starts its chain under the provisioned key", () => {
    test("a first provisioning: genesis under K_0 with a zero link, ack key from K_0, fl_k0 deleted", async () => {
        const d = new FakeDevice()
        const { key0, proof } = await provision(d)
        expect(d.restarts).toBe(1)
        expect(await d.kv.get(PROVISIONED_KEY_SETTING)).toBe(undefined)
        expect(proof.link).toBe("0".repeat(64))
        expect((await d.kv.get(ACK_KEY_SETTING))!.equals(deriveAckKey(crypto, key0, d.id))).toBe(true)
        const report = verifyChain(
            crypto,
            d.sealed.map(b => b.bytes),
            { deviceId: d.id, key0: key0 }
        )
        expect(report.ok).toBe(true)
        const s = await readDeviceState(d.settings, crypto, FAKE_ID)
        expect(s.provisioned).toBe(true)
        expect(s.chain!.seq).toBe(1)
    })

    test("a successor chain links to the old head; K_0 of the old chain cannot verify the new one", async () => {
        const d = new FakeDevice()
        await d.boot(2)
        const oldHead = (await readDeviceState(d.settings, crypto, FAKE_ID)).chain!
        const before = d.sealed.length
        const { key0, proof } = await provision(d)
        expect(proof.link).toBe(oldHead.headHash)
        const next = d.sealed.slice(before)
        const report = verifyChain(
            crypto,
            next.map(b => b.bytes),
            { deviceId: d.id, key0: key0 }
        )
        expect(report.ok).toBe(true)
        if (report.ok) expect(report.summary.previousChainHead).toBe(oldHead.headHash)
        // The boot counter goes on across chains (the old chain's boot was 0).
        expect(decodeBlock(next[0].bytes).header.time.boot).toBe(1)
    })

    test("a reset after the new head was written does not start a second chain under the same K_0", async () => {
        const d = new FakeDevice()
        await d.boot(1)
        const key0 = newKey0()
        await d.kv.set(PROVISIONED_KEY_SETTING, key0)
        // Cut power at the 2nd write of the boot: after the new head, before the genesis block.
        d.kv.cutAfter = d.kv.writes + 3
        await expect(d.boot()).rejects.toThrow(/power cut/)
        d.kv.cutAfter = Infinity
        const before = d.sealed.length
        await d.boot()
        expect(await d.kv.get(PROVISIONED_KEY_SETTING)).toBe(undefined)
        const genesis = await d.kv.get(GENESIS_KEY)
        const fresh = d.sealed.slice(before)
        expect(fresh[0].bytes.equals(genesis!)).toBe(true)
        const report = verifyChain(crypto, [genesis!], { deviceId: d.id, key0: key0 })
        expect(report.ok).toBe(true)
        // Booting again continues that chain: no third genesis.
        const n = d.sealed.length
        await d.boot()
        expect(d.sealed.slice(n).some(b => b.type === 0)).toBe(false)
    })

    test("power cut at every write of a provisioning boot: the chain ends up under K_0, once, and fl_k0 is gone", async () => {
        for (let cut = 0; cut < 12; cut++) {
            const d = new FakeDevice()
            await d.boot(1)
            const key0 = newKey0()
            await d.kv.set(PROVISIONED_KEY_SETTING, key0)
            d.kv.cutAfter = d.kv.writes + cut
            try {
                await d.boot()
            } catch (e) {
                expect(String(e)).toMatch(/power cut/)
            }
            d.kv.cutAfter = Infinity
            await d.boot()
            expect(await d.kv.get(PROVISIONED_KEY_SETTING)).toBe(undefined)
            const genesis = await d.kv.get(GENESIS_KEY)
            expect(verifyChain(crypto, [genesis!], { deviceId: d.id, key0: key0 }).ok).toBe(true)
            expect((await d.kv.get(ACK_KEY_SETTING))!.equals(deriveAckKey(crypto, key0, d.id))).toBe(true)
        }
    })

    test("a device without the firmware never takes the key: device-timeout, and the key is still there to see", async () => {
        const d = new FakeDevice()
        d.firmware = false
        const err = await startChainOnDevice({
            settings: d.settings,
            crypto,
            deviceId: FAKE_ID,
            key0: newKey0(),
            restartProgram: d.restartProgram,
            sleep: noSleep,
            timeoutMs: 0,
        }).catch(e => e)
        expect(err).toBeInstanceOf(ProvisionError)
        expect(err.code).toBe("device-timeout")
    })

    test("a value of the wrong size in fl_k0 is deleted and ignored by the firmware", async () => {
        const d = new FakeDevice()
        await d.kv.set(PROVISIONED_KEY_SETTING, Buffer.alloc(5))
        await d.boot()
        expect(await d.kv.get(PROVISIONED_KEY_SETTING)).toBe(undefined)
        expect(verifyChain(crypto, [d.sealed[0].bytes], { deviceId: d.id, key0: Buffer.alloc(32, 0x77) }).ok).toBe(true)
    })
})

describe("gateway registration", () => {
    let dir: string
    let gw: RunningGateway
    beforeEach(async () => {
        dir = mkdtempSync(join(tmpdir(), "fl-provision-"))
        gw = await startGateway({ db: join(dir, "gw.db"), port: 0, adminToken: TOKEN, masterKey: Buffer.alloc(32, 1) })
    })
    afterEach(async () => {
        await gw.close()
        rmSync(dir, { recursive: true, force: true })
    })

    test("registers, then reports 409 as already-registered; a wrong token is bad-token", async () => {
        const r = { deviceId: FAKE_ID, key0: newKey0().toString("hex") }
        expect(await registerWithGateway({ url: gw.url, adminToken: TOKEN }, r)).toBe("registered")
        expect(await registerWithGateway({ url: gw.url, adminToken: TOKEN }, r)).toBe("already-registered")
        const err = await registerWithGateway({ url: gw.url, adminToken: "wrong" }, r).catch(e => e)
        expect(err.code).toBe("bad-token")
        // What the gateway holds is a read: a read token or the admin token (docs/API.md, "Access").
        const { token: readToken } = await createReadToken(gw.service.store, {})
        expect((await gatewayView({ url: gw.url, readToken }, FAKE_ID)).known).toBe(true)
        expect((await gatewayView({ url: gw.url, adminToken: TOKEN }, "00000000000000ff")).known).toBe(false)
        expect(await gatewayView({ url: gw.url }, FAKE_ID).catch(e => e)).toMatchObject({ code: "no-token", hint: /FL_READ_TOKEN/ })
        expect(await gatewayView({ url: gw.url, readToken: "flr_" + "A".repeat(43) }, FAKE_ID).catch(e => e)).toMatchObject({
            code: "no-token",
            message: /refused the read token/,
        })
    })

    test("an unreachable gateway is gateway-unreachable", async () => {
        const err = await registerWithGateway(
            { url: "http://127.0.0.1:9", adminToken: TOKEN },
            { deviceId: FAKE_ID, key0: "00".repeat(32) }
        ).catch(e => e)
        expect(err.code).toBe("gateway-unreachable")
    })

    test("key succession: the gateway closes the old chain and ingests the successor's genesis", async () => {
        const d = new FakeDevice()
        const first = await provision(d)
        expect(await registerWithGateway({ url: gw.url, adminToken: TOKEN }, { deviceId: FAKE_ID, key0: first.key0.toString("hex") })).toBe(
            "registered"
        )
        await d.boot(1)
        // The gateway takes the first chain (what the device's sync would post).
        const blocks = d.sealed
        await gw.service.ingest(
            FAKE_ID,
            Buffer.concat([Buffer.from([1]), Buffer.alloc(8), ...blocks.flatMap(b => [Buffer.from([b.bytes.length]), b.bytes])])
        )
        const acked = (await gatewayView({ url: gw.url, adminToken: TOKEN }, FAKE_ID)).ackedSeq!
        expect(acked).toBeGreaterThan(0)
        // Re-provision (the gap record of the reboot is not at the gateway: a succession-gap event).
        const before = d.sealed.length
        const second = await provision(d)
        const outcome = await registerWithGateway(
            { url: gw.url, adminToken: TOKEN },
            { deviceId: FAKE_ID, key0: second.key0.toString("hex"), successorGenesis: second.proof.genesis }
        )
        expect(outcome).toBe("succeeded")
        const fresh = d.sealed.slice(before)
        const reply = await gw.service.ingest(
            FAKE_ID,
            Buffer.concat([Buffer.from([1]), Buffer.alloc(8), Buffer.from([fresh[0].bytes.length]), fresh[0].bytes])
        )
        expect(reply.status).toBe(200)
        expect((await gatewayView({ url: gw.url, adminToken: TOKEN }, FAKE_ID)).ackedSeq).toBe(0)
        const events = (await gw.service.events(FAKE_ID)).map(e => e.kind)
        expect(events).toContain("key-succession")
    })

    test("succession refuses a genesis not tagged under the given key", async () => {
        const d = new FakeDevice()
        const first = await provision(d)
        await registerWithGateway({ url: gw.url, adminToken: TOKEN }, { deviceId: FAKE_ID, key0: first.key0.toString("hex") })
        const second = await provision(d)
        const err = await registerWithGateway(
            { url: gw.url, adminToken: TOKEN },
            { deviceId: FAKE_ID, key0: newKey0().toString("hex"), successorGenesis: second.proof.genesis }
        ).catch(e => e)
        expect(err.code).toBe("gateway-refused")
        expect(err.message).toMatch(/bad-tag/)
    })

    test("offline: a pending file of mode 0600 with the key, uploaded later and then removed", async () => {
        const file = join(dir, "pending.json")
        const key0 = newKey0().toString("hex")
        addPendingRegistration(file, gw.url, { deviceId: FAKE_ID, key0, label: "pump 3" })
        addPendingRegistration(file, gw.url, { deviceId: "00000000000000aa", key0 })
        expect(statSync(file).mode & 0o777).toBe(0o600)
        expect(readPendingFile(file).registrations.length).toBe(2)
        expect(readFileSync(file, "utf8")).toContain(key0)
        const results = await uploadPending(file, { adminToken: TOKEN })
        expect(results.map(r => r.outcome)).toEqual(["registered", "registered"])
        expect(existsSync(file)).toBe(false)
    })

    test("offline upload that still cannot reach the gateway keeps the file", async () => {
        const file = join(dir, "pending.json")
        addPendingRegistration(file, "http://127.0.0.1:9", { deviceId: FAKE_ID, key0: newKey0().toString("hex") })
        const results = await uploadPending(file, { adminToken: TOKEN })
        expect(results[0].outcome).toBe("failed")
        expect(readPendingFile(file).registrations.length).toBe(1)
        expect(statSync(file).mode & 0o777).toBe(0o600)
    })

    test.each([
        ["not json"],
        [JSON.stringify({ format: "x" })],
        [JSON.stringify({ format: "fieldledger-pending-registrations", version: 1, registrations: [{ deviceId: "zz" }] })],
    ])("a malformed pending file is refused: %s", text => {
        const file = join(dir, "bad.json")
        require("node:fs").writeFileSync(file, text)
        expect(() => readPendingFile(file)).toThrow(ProvisionError)
    })
})

test("settingValue is what writeSetting stores", () => {
    expect(settingValue("http://x:1").toString()).toBe('"http://x:1"')
    expect(settingValue(5).toString()).toBe("5")
})
