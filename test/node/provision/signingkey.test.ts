/**
 * Provisioning and the device's signing key: pk_0 read from the device (fl_signpk, tied to the
 * new genesis) and registered with the gateway, the fingerprint `--check` shows, a firmware that
 * does not sign, and the signed checkpoint asked for before a key succession (fl_signnow).
 */
import { describe, expect, test } from "vitest"
import { SIGN_NOW_SETTING, SIGN_PUBLIC_KEY_SETTING } from "../../../src/lib/flash/keys"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { publicKeyFingerprint, publicKeyOf } from "../../../tools/lib/ed25519"
import { gatewayView, readDeviceState, readPendingFile } from "../../../tools/lib/provisioning"
import { requestSignedCheckpoint } from "../../../tools/lib/signingkey"
import { FakeDevice, FAKE_ID } from "./fakedevice"
import { provision, provisionFixture, TOKEN } from "./provisionfixture"

const fx = provisionFixture("fl-provision-signing-", 2)

describe("the signing key at provisioning", () => {
    test("a signing device: pk_0 read from it, registered with the gateway, the same fingerprint on both sides", async () => {
        const device = new FakeDevice()
        device.signs = true
        await device.boot()
        const r = await provision(device, fx.plan())
        expect(r.error).toBeUndefined()
        const pk = publicKeyOf(device.signingSeed)
        const fingerprint = publicKeyFingerprint(pk)
        expect(r.out.publicKey).toBe(pk.toString("hex"))
        expect(r.lines.join("\n")).toContain("fingerprint " + fingerprint)
        const view = await gatewayView({ url: fx.gw.url, adminToken: TOKEN }, FAKE_ID)
        expect(view.signing).toEqual({ fingerprint, signedTo: null })
        const after = await readDeviceState(device.settings, nodeCrypto, FAKE_ID)
        expect(after.signingKey).toEqual({ publicKey: pk.toString("hex"), fingerprint, forThisChain: true })
    })

    test("a firmware that does not sign: provisioned anyway, no key registered, the report says so", async () => {
        const device = new FakeDevice()
        await device.boot()
        const r = await provision(device, fx.plan())
        expect(r.error).toBeUndefined()
        expect(r.out.publicKey).toBeNull()
        expect(r.lines.join("\n")).toContain("published no signing key")
        expect((await gatewayView({ url: fx.gw.url, adminToken: TOKEN }, FAKE_ID)).signing).toBeNull()
    })

    test("a stale key (another chain's genesis) is not registered", async () => {
        const device = new FakeDevice()
        await device.boot()
        await device.kv.set(SIGN_PUBLIC_KEY_SETTING, Buffer.concat([Buffer.alloc(32, 1), publicKeyOf(Buffer.alloc(32, 2))]))
        const r = await provision(device, fx.plan())
        expect(r.out.publicKey).toBeNull()
        expect((await readDeviceState(device.settings, nodeCrypto, FAKE_ID)).signingKey?.forThisChain).toBe(false)
    })

    test("offline: the pending file keeps the public key with the registration", async () => {
        const device = new FakeDevice()
        device.signs = true
        await device.boot()
        const r = await provision(device, fx.plan({ gateway: "http://127.0.0.1:9" }))
        expect(r.out.registration).toBe("pending")
        expect(readPendingFile(fx.pendingFile).registrations[0].publicKey).toBe(publicKeyOf(device.signingSeed).toString("hex"))
    })
})

describe("before a key succession", () => {
    test("--force asks the signing device to seal a signed checkpoint, then registers the new chain's key", async () => {
        const device = new FakeDevice()
        device.signs = true
        await device.boot()
        expect((await provision(device, fx.plan())).error).toBeUndefined()
        device.signingSeed = Buffer.alloc(32, 0x61)
        const r = await provision(device, fx.plan({ force: true }))
        expect(r.error).toBeUndefined()
        expect(device.signNowAnswers).toBe(1)
        expect(r.out.signedBeforeSuccession).toBe(true)
        expect((await gatewayView({ url: fx.gw.url, adminToken: TOKEN }, FAKE_ID)).signing?.fingerprint).toBe(
            publicKeyFingerprint(publicKeyOf(device.signingSeed))
        )
    })

    test("a device that does not answer: the request is withdrawn after the timeout, and the report says the tail stays unsigned", async () => {
        const device = new FakeDevice()
        const signed = await requestSignedCheckpoint(device.settings, { timeoutMs: 50, pollMs: 10 })
        expect(signed).toBe(false)
        expect(await device.kv.get(SIGN_NOW_SETTING)).toBeUndefined()
    })
})
