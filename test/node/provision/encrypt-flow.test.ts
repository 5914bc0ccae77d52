/**
 * `fieldledger provision --encrypt` (tools/provision.ts) against the fake device, which boots the
 * shared firmware logic, and a gateway in process: the owner's key file, D_0 reaching the
 * device's head and leaving its settings, the chain's data blocks encrypted under it and
 * verifiable by the gateway's K_0, and a provision without --encrypt removing a stale fl_d0.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { RECORD_DATA } from "../../../src/lib/codec/format"
import { PROVISIONED_DATA_KEY_SETTING, PROVISIONED_KEY_SETTING } from "../../../src/lib/flash/keys"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { decryptReadings, deriveDataKey } from "../../../src/lib/ledger/datakey"
import { verifyChain } from "../../../src/lib/ledger/verify"
import { startGateway, RunningGateway } from "../../../tools/gateway/server"
import { nodeAesCcm0 } from "../../../tools/lib/aes"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { ProvisionError, readDeviceState, writeDataKeyFile } from "../../../tools/lib/provisioning"
import { ProvisionPlan, provisionDevice } from "../../../tools/provision"
import { FakeDevice, FAKE_ID } from "./fakedevice"

const TOKEN = "test-admin-token"
let dir: string
let gw: RunningGateway

beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "fl-encrypt-flow-"))
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

async function provision(device: FakeDevice, p: ProvisionPlan) {
    const before = await readDeviceState(device.settings, nodeCrypto, FAKE_ID)
    const out: Record<string, unknown> = {}
    const lines: string[] = []
    await provisionDevice({ id: FAKE_ID, settings: device.settings, restartProgram: device.restartProgram }, before, p, out, l =>
        lines.push(l)
    )
    return { out, lines }
}

describe("provision --encrypt", () => {
    test("D_0 goes to the key file (0600) and the device's head, not to its settings afterwards; the chain is encrypted under it", async () => {
        const device = new FakeDevice()
        const keyFile = join(dir, "owner.datakey")
        const { out, lines } = await provision(device, plan({ dataKeyFile: keyFile }))
        expect(out.encrypted).toBe(true)
        expect((out.after as { chain: { encrypted: boolean } }).chain.encrypted).toBe(true)
        expect(lines.join("\n")).not.toMatch(/[0-9a-f]{64}/)
        const text = readFileSync(keyFile, "utf8")
        expect(text).toMatch(/^[0-9a-f]{64}\n$/)
        expect(statSync(keyFile).mode & 0o777).toBe(0o600)
        const dataKey0 = Buffer.from(text.trim(), "hex")
        expect(await device.kv.get(PROVISIONED_DATA_KEY_SETTING)).toBeUndefined()
        expect(await device.kv.get(PROVISIONED_KEY_SETTING)).toBeUndefined()

        // The firmware runs on: its data blocks are encrypted, the gateway's K_0 verifies them,
        // and the key file's D_0 decrypts them to what was sampled (2000, 2001, ...).
        const { store } = await device.boot(2)
        const chain: Buffer[] = []
        for (let s = 0; s < store.currentHead().seq; s++) chain.push((await store.readBlock(s))!)
        const lastGenesis = device.sealed.map(b => b.seq).lastIndexOf(0)
        const sealed = device.sealed.slice(lastGenesis).map(b => b.bytes)
        const registered = await fetch(gw.url + "/v1/devices/" + FAKE_ID, { headers: { authorization: "Bearer " + TOKEN } })
        expect(registered.status).toBe(200)
        const values: number[] = []
        for (const bytes of sealed) {
            const b = decodeBlock(bytes)
            if (b.header.type !== RECORD_DATA) continue
            expect(b.readings).toBeUndefined()
            const d = deriveDataKey(nodeCrypto, dataKey0, device.id, b.header.seq)
            for (const r of decryptReadings(nodeAesCcm0, d, device.id, b)) values.push(r[0]!)
        }
        expect(values).toEqual([2000, 2001, 2002, 2003, 2004, 2005])
        expect(chain.length).toBeGreaterThan(0)
    })

    test("the key file is never overwritten", () => {
        const path = join(dir, "taken.datakey")
        writeFileSync(path, "another chain's key\n")
        expect(() => writeDataKeyFile(path, Buffer.alloc(32, 1))).toThrow(ProvisionError)
        expect(readFileSync(path, "utf8")).toBe("another chain's key\n")
    })

    test("without --encrypt a stale fl_d0 is deleted before K_0 goes: the chain is in clear", async () => {
        const device = new FakeDevice()
        await device.kv.set(PROVISIONED_DATA_KEY_SETTING, Buffer.alloc(32, 9))
        const { out } = await provision(device, plan())
        expect(out.encrypted).toBe(false)
        expect((out.after as { chain: { encrypted: boolean } }).chain.encrypted).toBe(false)
        expect(await device.kv.get(PROVISIONED_DATA_KEY_SETTING)).toBeUndefined()
        await device.boot(1)
        const data = device.sealed.map(b => decodeBlock(b.bytes)).filter(b => b.header.type === RECORD_DATA)
        expect(data.length).toBeGreaterThan(0)
        for (const b of data) expect(b.readings).toBeDefined()
        expect(
            verifyChain(nodeCrypto, [device.sealed[device.sealed.length - 1].bytes], { deviceId: device.id }).summary.encryptedBlocks
        ).toBeUndefined()
    })
})
