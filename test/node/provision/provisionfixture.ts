/**
 * What the provisioning-flow suites share: a gateway in process and a scratch folder for each
 * test, the plan `fieldledger provision` would run against them, and provisionDevice run on a
 * fake device with its error caught.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach } from "vitest"
import { startGateway, RunningGateway } from "../../../tools/gateway/server"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { ProvisionError, readDeviceState } from "../../../tools/lib/provisioning"
import { ProvisionPlan, provisionDevice } from "../../../tools/provision"
import { FakeDevice, FAKE_ID } from "./fakedevice"

export const TOKEN = "test-admin-token"

export interface ProvisionFixture {
    /** This test's scratch folder and gateway (fresh for each test). */
    dir: string
    gw: RunningGateway
    /** Where the plan keeps registrations the gateway has not confirmed. */
    pendingFile: string
    plan(over?: Partial<ProvisionPlan>): ProvisionPlan
}

/** Registers beforeEach/afterEach hooks in the calling file: a fresh gateway (admin token TOKEN) in a fresh folder per test. */
export function provisionFixture(dirPrefix: string, timeoutS: number): ProvisionFixture {
    const fx: ProvisionFixture = {
        dir: "",
        gw: undefined as unknown as RunningGateway,
        get pendingFile() {
            return join(fx.dir, "pending.json")
        },
        plan: (over = {}) => ({
            gateway: fx.gw.url,
            adminToken: TOKEN,
            config: { gatewayUrl: fx.gw.url },
            force: false,
            timeoutS,
            pendingFile: fx.pendingFile,
            ...over,
        }),
    }
    beforeEach(async () => {
        fx.dir = mkdtempSync(join(tmpdir(), dirPrefix))
        fx.gw = await startGateway({ db: join(fx.dir, "gw.db"), port: 0, adminToken: TOKEN, masterKey: Buffer.alloc(32, 3) })
    })
    afterEach(async () => {
        await fx.gw.close()
        rmSync(fx.dir, { recursive: true, force: true })
    })
    return fx
}

/** Runs provisionDevice on a fake whose program restart boots at once (no real waiting). */
export async function provision(device: FakeDevice, p: ProvisionPlan) {
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
