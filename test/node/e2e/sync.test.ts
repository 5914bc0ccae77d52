/**
 * End to end: the firmware's real wiring in the DeviceScript simulator (test/harness/sync-device.ts)
 * syncs to the gateway (`fieldledger gateway`, a child process on a SQLite file) through a
 * fault-injecting proxy on 127.0.0.1:18787. While the device samples, the network goes through
 * four phases: normal; gateway unreachable for a while; replies thrown away after the gateway
 * committed; the gateway killed (SIGKILL) with a batch in flight and restarted on the same
 * database. Afterwards every block the device sealed is stored exactly once, in order, the
 * readings stored equal the readings sealed, and the gateway's export passes `fieldledger verify`.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { SIMULATOR_DEV_KEY_HEX } from "../../../src/lib/ledger/devkey"
import { BlockLogParser, cleanLine } from "../../../tools/lib/devicelog"
import { FaultProxy } from "../helpers/faultproxy"
import { GatewayProcess } from "../helpers/gatewayprocess"
import { runHarnessDevice } from "../helpers/harnessdevice"

/** The harness device's gateway URL points here (test/harness/sync-device.ts). */
const PROXY_PORT = 18787
const DEVICE_ID = "12abdd2289421234"
const ADMIN_TOKEN = randomBytes(16).toString("hex")
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

interface DeviceRun {
    lines: string[]
    /** Blocks the device showed, by seq (a block shown again after a reset must be identical). */
    sealed: Map<number, Buffer>
    exitCode: number | null
}

describe("device to gateway sync through network faults", () => {
    const dir = mkdtempSync(join(tmpdir(), "fieldledger-e2e-"))
    let gateway: GatewayProcess
    const proxy = new FaultProxy(PROXY_PORT, 0)
    const phases: Record<string, { lines: string[] }> = {}
    let run: DeviceRun
    let killedMidBatch = false

    beforeAll(async () => {
        gateway = await GatewayProcess.launch(dir, ADMIN_TOKEN)
        const registered = await gateway.register({ deviceId: DEVICE_ID, key0: SIMULATOR_DEV_KEY_HEX, label: "e2e" })
        expect(registered.status).toBe(201)
        proxy.upstreamPort = gateway.port
        await proxy.open()

        const parser = new BlockLogParser()
        let phase = "startup"
        const device = runHarnessDevice("test/harness/sync-device.ts", raw => {
            const line = cleanLine(raw)
            ;(phases[phase] ??= { lines: [] }).lines.push(line)
            const block = parser.push(raw)
            if (block) {
                const seen = run.sealed.get(block.seq)
                if (seen && !seen.equals(block.bytes)) throw new Error("seq " + block.seq + " shown with two contents")
                run.sealed.set(block.seq, block.bytes)
            }
        })
        run = { lines: device.lines, sealed: new Map(), exitCode: null }
        const exited = device.exited.then(code => {
            run.exitCode = code
        })

        // Wait for the device to boot, then drive the network through the phases.
        const bootDeadline = Date.now() + 60000
        while (!run.lines.some(l => l.startsWith("fl:boot")) && Date.now() < bootDeadline) await sleep(100)
        phase = "normal"
        await sleep(5000)
        phase = "unreachable"
        await proxy.close()
        await sleep(5000)
        await proxy.open()
        phase = "after-outage"
        await sleep(3000)
        phase = "replies-dropped"
        proxy.mode = "drop-replies"
        await sleep(3000)
        proxy.mode = "pass"
        phase = "gateway-killed"
        await new Promise<void>(resolve => {
            proxy.onForwarded = () => {
                proxy.onForwarded = undefined
                gateway.kill()
                killedMidBatch = true
                resolve()
            }
        })
        await sleep(1500)
        await gateway.start()
        phase = "drain"
        await exited
    }, 180000)

    afterAll(async () => {
        await proxy.close()
        gateway?.kill()
        rmSync(dir, { recursive: true, force: true })
    })

    const syncLines = (p: string) => (phases[p]?.lines ?? []).filter(l => l.startsWith("fl:sync "))

    test("syncs blocks while the gateway is reachable", () => {
        expect(
            syncLines("normal").some(l => l.startsWith("fl:sync synced")),
            run.lines.slice(-30).join("\n")
        ).toBe(true)
    })

    test("keeps sealing while the gateway is unreachable and backs off", () => {
        const failed = syncLines("unreachable").filter(l => l.startsWith("fl:sync failed"))
        expect(failed.length).toBeGreaterThan(0)
        expect(failed.length).toBeLessThan(20) // 300 ms period: without backoff it would be ~16 in 5 s
        expect((phases.unreachable?.lines ?? []).filter(l => l.startsWith("fl:block")).length).toBeGreaterThan(0)
        expect(syncLines("after-outage").some(l => l.startsWith("fl:sync synced"))).toBe(true)
    })

    test("replies lost after the gateway committed cause resends, not duplicates", () => {
        expect(proxy.dropped).toBeGreaterThan(0)
    })

    test("a gateway killed with a batch in flight comes back and the device catches up", () => {
        expect(killedMidBatch).toBe(true)
        expect(syncLines("drain").some(l => l.startsWith("fl:sync synced"))).toBe(true)
    })

    test("every sealed block is stored once, in order, with every reading, and the export verifies", async () => {
        expect(run.lines).toContain("fl:harness done backlog=0")
        const sealedSeqs = [...run.sealed.keys()].sort((a, b) => a - b)
        expect(sealedSeqs).toEqual(sealedSeqs.map((_, i) => i))
        const sealedReadings = [...run.sealed.values()].reduce((n, b) => n + (decodeBlock(b).readings?.length ?? 0), 0)

        const detail = await (await gateway.admin("/v1/devices/" + DEVICE_ID)).json()
        expect(detail.head.seq).toBe(sealedSeqs.length - 1)
        expect(detail.blocks).toBe(sealedSeqs.length)
        expect(detail.readings).toBe(sealedReadings)

        const exportText = await (await gateway.admin("/v1/devices/" + DEVICE_ID + "/export")).text()
        const exported = JSON.parse(exportText).blocks as string[]
        expect(exported).toEqual(sealedSeqs.map(s => run.sealed.get(s)!.toString("hex")))
        const file = join(dir, "export.json")
        writeFileSync(file, exportText)
        const verify = spawn(process.execPath, ["bin/fieldledger.mjs", "verify", file, "--key", SIMULATOR_DEV_KEY_HEX], {
            stdio: "inherit",
        })
        expect(await new Promise(r => verify.on("exit", r))).toBe(0)
    })
})
