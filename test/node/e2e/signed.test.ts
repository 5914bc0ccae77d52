/**
 * Signed checkpoints end to end, with no K_0 in the verifying process: the firmware's wiring in
 * the simulator (test/harness/signed-sync-device.ts: a signed checkpoint every 2 blocks, and one
 * on request at the end) syncs to a real gateway, registered with the pk_0 the device printed;
 * the gateway's export is then verified by `fieldledger verify --public-key` alone (this test
 * never hands it K_0), and each signature by node:crypto on its own.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { RECORD_CHECKPOINT } from "../../../src/lib/codec/format"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { SIMULATOR_DEV_KEY_HEX } from "../../../src/lib/ledger/devkey"
import { signedCheckpointMessage } from "../../../src/lib/ledger/signedcheckpoint"
import { nobleCrypto } from "../../../tools/lib/crypto"
import { verifyEd25519 } from "../../../tools/lib/ed25519"
import { blockHash } from "../../../src/lib/ledger/keys"
import { FaultProxy } from "../helpers/faultproxy"
import { GatewayProcess } from "../helpers/gatewayprocess"
import { firstPublicKey, runHarnessDevice } from "../helpers/harnessdevice"

const PROXY_PORT = 18787
const DEVICE_ID = "12abdd2289421234"
const ADMIN_TOKEN = randomBytes(16).toString("hex")

describe("signed checkpoints: simulator firmware -> gateway -> export -> public verification", () => {
    const dir = mkdtempSync(join(tmpdir(), "fieldledger-signed-"))
    const proxy = new FaultProxy(PROXY_PORT, 0)
    let gateway: GatewayProcess
    let lines: string[] = []
    let publicKey0 = ""
    let exportFile = ""
    let exported: { blocks: string[] }

    beforeAll(async () => {
        gateway = await GatewayProcess.launch(dir, ADMIN_TOKEN)
        proxy.upstreamPort = gateway.port
        await proxy.open()
        const device = runHarnessDevice("test/harness/signed-sync-device.ts")
        lines = device.lines
        // The device draws seed_0 at its first boot and prints pk_0; it is registered with it,
        // as provisioning does with fl_signpk (until then the gateway refuses its syncs).
        publicKey0 = await firstPublicKey(device)
        const registered = await gateway.register({
            deviceId: DEVICE_ID,
            key0: SIMULATOR_DEV_KEY_HEX,
            label: "signed e2e",
            publicKey: publicKey0,
        })
        expect(registered.status).toBe(201)
        await device.exited
        const res = await gateway.admin(`/v1/devices/${DEVICE_ID}/export`)
        expect(res.status).toBe(200)
        const text = await res.text()
        exported = JSON.parse(text)
        exportFile = join(dir, "chain.json")
        writeFileSync(exportFile, text)
    }, 180000)

    afterAll(async () => {
        await proxy.close()
        gateway?.kill()
        rmSync(dir, { recursive: true, force: true })
    })

    test("the device drained its backlog to the gateway, signed checkpoints included", () => {
        expect(
            lines.some(l => l === "fl:harness done backlog=0"),
            lines.slice(-20).join("\n")
        ).toBe(true)
        const types = exported.blocks.map(b => Buffer.from(b, "hex")[1])
        expect(types.filter(t => t === RECORD_CHECKPOINT).length).toBeGreaterThanOrEqual(3)
    })

    test("fieldledger verify --public-key, without K_0, verifies the chain up to its last signed checkpoint", () => {
        const r = spawnSync(process.execPath, ["bin/fieldledger.mjs", "verify", exportFile, "--public-key", publicKey0, "--json"], {
            encoding: "utf8",
        })
        expect(r.status, r.stdout + r.stderr).toBe(0)
        const report = JSON.parse(r.stdout)
        const blocks = exported.blocks.map(b => decodeBlock(Buffer.from(b, "hex")))
        const lastCheckpoint = blocks.filter(b => b.header.type === RECORD_CHECKPOINT).pop()!
        expect(report.summary.signed.verifiedTo).toBe(lastCheckpoint.header.seq)
        // The checkpoint asked for after sampling stopped closes the chain: nothing is unsigned.
        expect(report.summary.signed.unsignedBlocks).toBe(0)
    })

    test("node:crypto verifies every signature on its own, along the certified keys", () => {
        const deviceId = Buffer.from(DEVICE_ID, "hex")
        let key: Buffer = Buffer.from(publicKey0, "hex")
        let link: Buffer = Buffer.alloc(32)
        let keyIndex = 0
        for (const hex of exported.blocks) {
            const bytes = Buffer.from(hex, "hex")
            const b = decodeBlock(bytes)
            if (b.header.seq === 0) link = b.header.link
            if (b.header.type === RECORD_CHECKPOINT) {
                const cp = b.checkpoint!
                expect(cp.keyIndex).toBe(keyIndex)
                const unsigned = b.content.subarray(0, b.content.length - 64)
                expect(verifyEd25519(key, signedCheckpointMessage(deviceId, link, unsigned), cp.signature!)).toBe(true)
                key = cp.nextPublicKey
                keyIndex++
            }
            link = blockHash(nobleCrypto, link, bytes)
        }
        expect(keyIndex).toBeGreaterThanOrEqual(3)
    })
})
