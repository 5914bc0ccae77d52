/**
 * Signed checkpoints end to end, with no K_0 in the verifying process: the firmware's wiring in
 * the simulator (test/harness/signed-sync-device.ts: a signed checkpoint every 2 blocks, and one
 * on request at the end) syncs to a real gateway, registered with the pk_0 the device printed;
 * the gateway's export is then verified by `fieldledger verify --public-key` alone (this test
 * never hands it K_0), and each signature by node:crypto on its own.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { RECORD_CHECKPOINT } from "../../../src/lib/codec/format"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { SIMULATOR_DEV_KEY_HEX } from "../../../src/lib/ledger/devkey"
import { signedCheckpointMessage } from "../../../src/lib/ledger/signedcheckpoint"
import { parseLine } from "../../../src/lib/log/parse"
import { cleanLine } from "../../../tools/lib/devicelog"
import { devsCliPath } from "../../../tools/lib/devs"
import { nobleCrypto } from "../../../tools/lib/crypto"
import { verifyEd25519 } from "../../../tools/lib/ed25519"
import { blockHash } from "../../../src/lib/ledger/keys"
import { FaultProxy } from "../helpers/faultproxy"
import { freePort } from "../../../tools/lib/ports"

const PROXY_PORT = 18787
const DEVICE_ID = "12abdd2289421234"
const ADMIN_TOKEN = randomBytes(16).toString("hex")
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

describe("signed checkpoints: simulator firmware -> gateway -> export -> public verification", () => {
    const dir = mkdtempSync(join(tmpdir(), "fieldledger-signed-"))
    const proxy = new FaultProxy(PROXY_PORT, 0)
    let gateway: ChildProcess
    let gatewayPort = 0
    const lines: string[] = []
    let publicKey0 = ""
    let exportFile = ""
    let exported: { blocks: string[] }

    beforeAll(async () => {
        const keyFile = join(dir, "master.key")
        writeFileSync(keyFile, randomBytes(32).toString("hex"), { mode: 0o600 })
        gatewayPort = await freePort()
        gateway = spawn(
            process.execPath,
            [
                "bin/fieldledger.mjs",
                "gateway",
                "--db",
                join(dir, "gateway.db"),
                "--port",
                String(gatewayPort),
                "--master-key-file",
                keyFile,
            ],
            { env: { ...process.env, FL_ADMIN_TOKEN: ADMIN_TOKEN }, stdio: ["ignore", "pipe", "pipe"] }
        )
        let output = ""
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error("gateway did not start within 30 s: " + output)), 30000)
            const onData = (d: Buffer) => {
                output += d
                if (output.includes("listening on")) {
                    clearTimeout(timer)
                    resolve()
                }
            }
            gateway.stdout!.on("data", onData)
            gateway.stderr!.on("data", onData)
        })
        proxy.upstreamPort = gatewayPort
        await proxy.open()

        const device = spawn(process.execPath, [devsCliPath(), "run", "test/harness/signed-sync-device.ts", "--test", "-T", "120000"], {
            stdio: ["ignore", "pipe", "pipe"],
        })
        const onLine = (raw: string) => lines.push(cleanLine(raw))
        createInterface({ input: device.stdout! }).on("line", onLine)
        createInterface({ input: device.stderr! }).on("line", onLine)
        const exited = new Promise<void>(resolve => device.on("exit", () => resolve()))

        // The device draws seed_0 at its first boot and prints pk_0; it is registered with it,
        // as provisioning does with fl_signpk (until then the gateway refuses its syncs).
        const deadline = Date.now() + 60000
        while (!publicKey0 && Date.now() < deadline) {
            for (const l of lines) {
                const p = parseLine(l)
                if (p && p.kind === "signkey" && p.keyIndex === 0) publicKey0 = p.publicKey
            }
            await sleep(100)
        }
        if (!publicKey0) throw new Error("the device printed no fl:signkey index=0 within 60 s:\n" + lines.slice(-20).join("\n"))
        const registered = await fetch(`http://127.0.0.1:${gatewayPort}/v1/devices`, {
            method: "POST",
            headers: { authorization: "Bearer " + ADMIN_TOKEN, "content-type": "application/json" },
            body: JSON.stringify({ deviceId: DEVICE_ID, key0: SIMULATOR_DEV_KEY_HEX, label: "signed e2e", publicKey: publicKey0 }),
        })
        expect(registered.status).toBe(201)
        await exited
        const res = await fetch(`http://127.0.0.1:${gatewayPort}/v1/devices/${DEVICE_ID}/export`, {
            headers: { authorization: "Bearer " + ADMIN_TOKEN },
        })
        expect(res.status).toBe(200)
        const text = await res.text()
        exported = JSON.parse(text)
        exportFile = join(dir, "chain.json")
        writeFileSync(exportFile, text)
    }, 180000)

    afterAll(async () => {
        await proxy.close()
        gateway?.kill("SIGKILL")
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
