/**
 * End to end on the simulator: a simulated device provisioned with `--device-gateway usb` has
 * no network path to the gateway; `fieldledger bridge --sim` carries its blocks over the
 * devtools bus. The gateway verifies and stores the chain, and the device forgets what was
 * acknowledged (its head's oldestSeq advances).
 *
 * Uses TCP port 8082 through the machine-wide bus lock (tools/lib/buslock.ts).
 */
import { afterAll, beforeAll, describe, expect, onTestFailed, test } from "vitest"
import type { RunningGateway } from "../../../tools/gateway/server"
import { runCli as run, until, startSimulatedSetup } from "./cli"

const DEVICE_ID = "0123456789abcd0b"
const TOKEN = "e2e-bridge-token"

describe("USB sync through fieldledger bridge on the simulator", () => {
    let setup: Awaited<ReturnType<typeof startSimulatedSetup>>
    let gw: RunningGateway
    let lines: string[] = []
    let tokenFile: string

    beforeAll(async () => {
        setup = await startSimulatedSetup({ deviceId: DEVICE_ID, token: TOKEN, tempPrefix: "fl-e2e-bridge-", masterKeyFill: 9 })
        ;({ gw, tokenFile, lines } = setup)
    }, 1000000)

    afterAll(async () => {
        await setup?.close()
    })

    test("refuses a device that is not in USB mode", async () => {
        const r = await run(["bridge", "--sim", "--device", DEVICE_ID, "--gateway", gw.url, "--once", "--json"])
        expect(r.code, r.stdout + r.stderr).toBe(1)
        expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: "not-usb" })
    }, 120000)

    test("provisioned for USB, the device's chain reaches the gateway only through the bridge, and the device prunes", async () => {
        // What the device did is the first thing to know when this fails.
        onTestFailed(() =>
            console.log(
                "the device's lines:\n" +
                    lines
                        .filter(l => /^fl:(sync|error|boot|status)|panic|restart/i.test(l))
                        .slice(-40)
                        .join("\n")
            )
        )
        const p = await run([
            "provision",
            "--sim",
            "--device",
            DEVICE_ID,
            "--gateway",
            gw.url,
            "--device-gateway",
            "usb",
            "--admin-token-file",
            tokenFile,
            "--block-age",
            "3000",
            "--json",
        ])
        expect(p.code, p.stdout + p.stderr).toBe(0)
        expect(JSON.parse(p.stdout).config.FL_GATEWAY).toBe("usb")
        await until("the device to sync over USB", () => lines.some(l => l.includes("fl:sync to USB")))
        await until("a data block", () => lines.some(l => /fl:status seq=([2-9]|\d\d)/.test(l)), 60000)
        const r = await run(["bridge", "--sim", "--device", DEVICE_ID, "--gateway", gw.url, "--once", "--timeout", "150", "--json"])
        expect(r.code, r.stdout + r.stderr).toBe(0)
        const round = JSON.parse(r.stdout)
        expect(round).toMatchObject({ ok: true, outcome: "forwarded", status: 200, firstSeq: 0 })
        expect(round.ack).toBe(round.lastSeq)
        // The device took the signed ack: its backlog starts after what the gateway holds.
        expect(round.device.oldestSeq).toBe(round.lastSeq + 1)
        const view = await (await fetch(gw.url + "/v1/devices/" + DEVICE_ID)).json()
        expect(view.head.seq).toBeGreaterThanOrEqual(round.ack)
        expect(view.securityEvents).toBe(0)
        const exported = await (await fetch(gw.url + "/v1/devices/" + DEVICE_ID + "/export")).json()
        expect(exported.blocks.length).toBeGreaterThanOrEqual(round.sent)
        // The device logs the round after its head is written (which the bridge saw).
        // The bound is generous: CI runs the other suites beside this VM. On a timeout the
        // device's own lines (a restart would show a second fl:boot) say what it did instead.
        await until("the device's own account of the round", () => lines.some(l => l.startsWith("fl:sync synced")), 30000).catch(e => {
            throw new Error(
                e.message +
                    "; the device's lines:\n" +
                    lines
                        .filter(l => /^fl:(sync|error|boot)|panic|restart/i.test(l))
                        .slice(-25)
                        .join("\n")
            )
        })
    }, 400000)
})
