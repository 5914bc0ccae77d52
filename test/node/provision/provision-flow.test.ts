/**
 * `fieldledger provision`'s flow (tools/provision.ts) against the fake device and a gateway in
 * process: the gateway's token check comes before the device is touched, and a registration
 * that fails after the device switched keys keeps K_0 in the pending file, so the device never
 * syncs under a key nobody holds.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { verifyChain } from "../../../src/lib/ledger/verify"
import { startGateway, RunningGateway } from "../../../tools/gateway/server"
import { nodeCrypto } from "../../../tools/lib/crypto"
import {
    checkAdminToken,
    newKey0,
    ProvisionError,
    readDeviceState,
    readPendingFile,
    registerWithGateway,
} from "../../../tools/lib/provisioning"
import { ProvisionPlan, provisionDevice } from "../../../tools/provision"
import { FakeDevice, FAKE_ID } from "./fakedevice"

const TOKEN = "test-admin-token"
let dir: string
let gw: RunningGateway

beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "fl-provision-flow-"))
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
    timeoutS: 5,
    pendingFile: join(dir, "pending.json"),
    ...over,
})

/** Runs provisionDevice on a fake whose program restart boots at once (no real waiting). */
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

/** The K_0 in the pending file verifies the device's current chain from its genesis. */
function pendingKeyVerifies(device: FakeDevice, pendingFile: string): boolean {
    const [r] = readPendingFile(pendingFile).registrations
    const lastGenesis = device.sealed.map(b => b.seq).lastIndexOf(0)
    const chain = device.sealed.slice(lastGenesis).map(b => b.bytes)
    return verifyChain(nodeCrypto, chain, { deviceId: device.id, key0: Buffer.from(r.key0, "hex") }).ok
}

describe("the gateway's look at the admin token", () => {
    test("accepted, refused as bad-token, unreachable, or a gateway without the route", async () => {
        expect(await checkAdminToken({ url: gw.url, adminToken: TOKEN })).toBe("accepted")
        expect((await checkAdminToken({ url: gw.url, adminToken: "wrong" }).catch(e => e)).code).toBe("bad-token")
        expect(await checkAdminToken({ url: "http://127.0.0.1:9", adminToken: TOKEN })).toBe("unreachable")
        const old = async () => ({ status: 404, text: async () => '{"error":"not-found"}' })
        expect(await checkAdminToken({ url: gw.url, adminToken: TOKEN, fetch: old })).toBe("cannot-check")
    })
})

describe("a registration that fails after the device switched keys", () => {
    test("a gateway that already holds another key: K_0 kept in the pending file, gateway-conflict naming it", async () => {
        await registerWithGateway({ url: gw.url, adminToken: TOKEN }, { deviceId: FAKE_ID, key0: newKey0().toString("hex") })
        const device = new FakeDevice()
        await device.boot()
        const r = await provision(device, plan())
        expect(r.error?.code).toBe("gateway-conflict")
        expect(r.error?.message).toContain("the device's new key is kept in " + join(dir, "pending.json"))
        expect(r.out.pendingFile).toBe(join(dir, "pending.json"))
        expect(pendingKeyVerifies(device, join(dir, "pending.json"))).toBe(true)
    })

    test("the token refused at registration (changed since the check): K_0 kept, bad-token", async () => {
        const device = new FakeDevice()
        await device.boot()
        const r = await provision(device, plan({ adminToken: "rotated-meanwhile" }))
        expect(r.error?.code).toBe("bad-token")
        expect(pendingKeyVerifies(device, join(dir, "pending.json"))).toBe(true)
        expect(r.error?.hint).toContain("fieldledger register --pending " + join(dir, "pending.json"))
    })

    test("--force against an unreachable gateway: pending, as before (exit 0 path)", async () => {
        const device = new FakeDevice()
        await device.boot()
        expect((await provision(device, plan())).out.registration).toBe("registered")
        const r = await provision(device, plan({ force: true, gateway: "http://127.0.0.1:9" }))
        expect(r.error).toBeUndefined()
        expect(r.out.registration).toBe("pending")
        expect(readPendingFile(join(dir, "pending.json")).registrations[0].successorGenesis).toBeDefined()
    })
})
