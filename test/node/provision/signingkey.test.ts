/**
 * Provisioning and the device's signing key: pk_0 read from the device (fl_signpk, tied to the
 * new genesis) and registered with the gateway, the fingerprint `--check` shows, a firmware that
 * does not sign, and the signed checkpoint asked for before a key succession (fl_signnow).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { SIGN_NOW_SETTING, SIGN_PUBLIC_KEY_SETTING } from "../../../src/lib/flash/keys"
import { startGateway, RunningGateway } from "../../../tools/gateway/server"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { publicKeyFingerprint, publicKeyOf } from "../../../tools/lib/ed25519"
import { gatewayView, ProvisionError, readDeviceState, readPendingFile } from "../../../tools/lib/provisioning"
import { requestSignedCheckpoint } from "../../../tools/lib/signingkey"
import { ProvisionPlan, provisionDevice } from "../../../tools/provision"
import { FakeDevice, FAKE_ID } from "./fakedevice"

const TOKEN = "test-admin-token"
let dir: string
let gw: RunningGateway

beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "fl-provision-signing-"))
    gw = await startGateway({ db: join(dir, "gw.db"), port: 0, adminToken: TOKEN, masterKey: Buffer.alloc(32, 3) })
})
afterEach(async () => {
    await gw.close()
    rmSync(dir, { recursive: true, force: true })
})

const plan = (over: Partial<ProvisionPlan> = {}): ProvisionPlan => ({
    gateway: gw.url,
    adminToken: TOKEN,
    config: { gatewayUrl: gw.url },
    force: false,
    timeoutS: 2,
    pendingFile: join(dir, "pending.json"),
    ...over,
})

async function provision(device: FakeDevice, p: ProvisionPlan) {
    const before = await readDeviceState(device.settings, nodeCrypto, FAKE_ID)
    const out: Record<string, unknown> = {}
    const lines: string[] = []
    const error = await provisionDevice(
        { id: FAKE_ID, settings: device.settings, restartProgram: device.restartProgram },
        before,
        p,
        out,
        l => lines.push(l)
    ).then(
        (): ProvisionError | undefined => undefined,
        (e: unknown) => e as ProvisionError
    )
    return { out, lines, error }
}

describe("the signing key at provisioning", () => {
    test("a signing device: pk_0 read from it, registered with the gateway, the same fingerprint on both sides", async () => {
        const device = new FakeDevice()
        device.signs = true
        await device.boot()
        const r = await provision(device, plan())
        expect(r.error).toBeUndefined()
        const pk = publicKeyOf(device.signingSeed)
        const fingerprint = publicKeyFingerprint(pk)
        expect(r.out.publicKey).toBe(pk.toString("hex"))
        expect(r.lines.join("\n")).toContain("fingerprint " + fingerprint)
        const view = await gatewayView({ url: gw.url, adminToken: TOKEN }, FAKE_ID)
        expect(view.signing).toEqual({ fingerprint, signedTo: null })
        const after = await readDeviceState(device.settings, nodeCrypto, FAKE_ID)
        expect(after.signingKey).toEqual({ publicKey: pk.toString("hex"), fingerprint, forThisChain: true })
    })

    test("a firmware that does not sign: provisioned anyway, no key registered, the report says so", async () => {
        const device = new FakeDevice()
        await device.boot()
        const r = await provision(device, plan())
        expect(r.error).toBeUndefined()
        expect(r.out.publicKey).toBeNull()
        expect(r.lines.join("\n")).toContain("published no signing key")
        expect((await gatewayView({ url: gw.url, adminToken: TOKEN }, FAKE_ID)).signing).toBeNull()
    })

    test("a stale key (another chain's genesis) is not registered", async () => {
        const device = new FakeDevice()
        await device.boot()
        await device.kv.set(SIGN_PUBLIC_KEY_SETTING, Buffer.concat([Buffer.alloc(32, 1), publicKeyOf(Buffer.alloc(32, 2))]))
        const r = await provision(device, plan())
        expect(r.out.publicKey).toBeNull()
        expect((await readDeviceState(device.settings, nodeCrypto, FAKE_ID)).signingKey?.forThisChain).toBe(false)
    })

    test("offline: the pending file keeps the public key with the registration", async () => {
        const device = new FakeDevice()
        device.signs = true
        await device.boot()
        const r = await provision(device, plan({ gateway: "http://127.0.0.1:9" }))
        expect(r.out.registration).toBe("pending")
        expect(readPendingFile(join(dir, "pending.json")).registrations[0].publicKey).toBe(publicKeyOf(device.signingSeed).toString("hex"))
    })
})

describe("before a key succession", () => {
    test("--force asks the signing device to seal a signed checkpoint, then registers the new chain's key", async () => {
        const device = new FakeDevice()
        device.signs = true
        await device.boot()
        expect((await provision(device, plan())).error).toBeUndefined()
        device.signingSeed = Buffer.alloc(32, 0x61)
        const r = await provision(device, plan({ force: true }))
        expect(r.error).toBeUndefined()
        expect(device.signNowAnswers).toBe(1)
        expect(r.out.signedBeforeSuccession).toBe(true)
        expect((await gatewayView({ url: gw.url, adminToken: TOKEN }, FAKE_ID)).signing?.fingerprint).toBe(
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
