/**
 * `fieldledger provision`'s flow (tools/provision.ts) against the fake device and a gateway in
 * process: the gateway's token check comes before the device is touched, and a registration
 * that fails after the device switched keys keeps K_0 in the pending file, so the device never
 * syncs under a key nobody holds.
 */
import { describe, expect, test } from "vitest"
import { verifyChain } from "../../../src/lib/ledger/verify"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { checkAdminToken, newKey0, readPendingFile, registerWithGateway } from "../../../tools/lib/provisioning"
import { FakeDevice, FAKE_ID } from "./fakedevice"
import { provision, provisionFixture, TOKEN } from "./provisionfixture"

const fx = provisionFixture("fl-provision-flow-", 5)

/** The K_0 in the pending file verifies the device's current chain from its genesis. */
function pendingKeyVerifies(device: FakeDevice, pendingFile: string): boolean {
    const [r] = readPendingFile(pendingFile).registrations
    const lastGenesis = device.sealed.map(b => b.seq).lastIndexOf(0)
    const chain = device.sealed.slice(lastGenesis).map(b => b.bytes)
    return verifyChain(nodeCrypto, chain, { deviceId: device.id, key0: Buffer.from(r.key0, "hex") }).ok
}

describe("the gateway's look at the admin token", () => {
    test("accepted, refused as bad-token, unreachable, or a gateway without the route", async () => {
        expect(await checkAdminToken({ url: fx.gw.url, adminToken: TOKEN })).toBe("accepted")
        expect((await checkAdminToken({ url: fx.gw.url, adminToken: "wrong" }).catch(e => e)).code).toBe("bad-token")
        expect(await checkAdminToken({ url: "http://127.0.0.1:9", adminToken: TOKEN })).toBe("unreachable")
        const old = async () => ({ status: 404, text: async () => '{"error":"not-found"}' })
        expect(await checkAdminToken({ url: fx.gw.url, adminToken: TOKEN, fetch: old })).toBe("cannot-check")
    })
})

describe("a registration that fails after the device switched keys", () => {
    test("a gateway that already holds another key: K_0 kept in the pending file, gateway-conflict naming it", async () => {
        await registerWithGateway({ url: fx.gw.url, adminToken: TOKEN }, { deviceId: FAKE_ID, key0: newKey0().toString("hex") })
        const device = new FakeDevice()
        await device.boot()
        const r = await provision(device, fx.plan())
        expect(r.error?.code).toBe("gateway-conflict")
        expect(r.error?.message).toContain("the device's new key is kept in " + fx.pendingFile)
        expect(r.out.pendingFile).toBe(fx.pendingFile)
        expect(pendingKeyVerifies(device, fx.pendingFile)).toBe(true)
    })

    test("the token refused at registration (changed since the check): K_0 kept, bad-token", async () => {
        const device = new FakeDevice()
        await device.boot()
        const r = await provision(device, fx.plan({ adminToken: "rotated-meanwhile" }))
        expect(r.error?.code).toBe("bad-token")
        expect(pendingKeyVerifies(device, fx.pendingFile)).toBe(true)
        expect(r.error?.hint).toContain("fieldledger register --pending " + fx.pendingFile)
    })

    test("--force against an unreachable gateway: pending, as before (exit 0 path)", async () => {
        const device = new FakeDevice()
        await device.boot()
        expect((await provision(device, fx.plan())).out.registration).toBe("registered")
        const r = await provision(device, fx.plan({ force: true, gateway: "http://127.0.0.1:9" }))
        expect(r.error).toBeUndefined()
        expect(r.out.registration).toBe("pending")
        expect(readPendingFile(fx.pendingFile).registrations[0].successorGenesis).toBeDefined()
    })
})
