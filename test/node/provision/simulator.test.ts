/**
 * End to end on the simulator: `fieldledger provision --sim` over the devtools bus against a
 * running simulated device and a gateway in this process. The device seals its genesis under
 * the new key, syncs, and the gateway verifies every block; re-provisioning is refused without
 * --force and is key succession with it; an offline registration is uploaded later; a wrong
 * admin token is refused before the device is touched, first time and with --force.
 *
 * Uses TCP port 8082 (one devtools at a time): Simulator.startBus takes the machine-wide bus
 * lock (tools/lib/buslock.ts), so this file waits for the power-cut and sync suites.
 */
import { statSync, existsSync } from "node:fs"
import { join } from "node:path"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import type { RunningGateway } from "../../../tools/gateway/server"
import { runCli as run, until, startSimulatedSetup } from "./cli"

const DEVICE_ID = "0123456789abcdef"
const TOKEN = "e2e-admin-token"

describe("provisioning the simulated device over the devtools bus", () => {
    let setup: Awaited<ReturnType<typeof startSimulatedSetup>>
    let dir: string
    let gw: RunningGateway
    let tokenFile: string

    const view = async () => (await fetch(gw.url + "/v1/devices/" + DEVICE_ID)).json() as Promise<any>

    beforeAll(async () => {
        setup = await startSimulatedSetup({ deviceId: DEVICE_ID, token: TOKEN, tempPrefix: "fl-e2e-provision-", masterKeyFill: 7 })
        ;({ dir, gw, tokenFile } = setup)
    }, 1000000)

    afterAll(async () => {
        await setup?.close()
    })

    test("devices --sim lists the device with its chain state", async () => {
        const r = await run(["devices", "--sim", "--json"])
        expect(r.code, r.stdout + r.stderr).toBe(0)
        const doc = JSON.parse(r.stdout)
        const d = doc.devices.find((x: any) => x.id === DEVICE_ID)
        expect(d.program).toBe("fieldledger")
        expect(d.state.provisioned).toBe(false)
        expect(d.state.chain.developmentKey).toBe(true)
    }, 120000)

    /** The device's state as `devices --sim --json` reads it. */
    const deviceState = async () => {
        const r = await run(["devices", "--sim", "--json"])
        expect(r.code, r.stdout + r.stderr).toBe(0)
        return JSON.parse(r.stdout).devices.find((x: any) => x.id === DEVICE_ID).state
    }

    test("a wrong admin token is refused before the device is touched (first provisioning)", async () => {
        const before = await deviceState()
        const r = await run(["provision", "--sim", "--device", DEVICE_ID, "--gateway", gw.url, "--json"], { FL_ADMIN_TOKEN: "wrong-token" })
        expect(r.code, r.stdout + r.stderr).toBe(1)
        expect(JSON.parse(r.stdout).error).toBe("bad-token")
        const after = await deviceState()
        expect(after.provisioned).toBe(false)
        expect(after.chain.developmentKey).toBe(true)
        expect(after.config).toEqual(before.config)
    }, 120000)

    test("provision: new genesis under the new key, registered, synced and verified by the gateway", async () => {
        const r = await run([
            "provision",
            "--sim",
            "--device",
            DEVICE_ID,
            "--gateway",
            gw.url,
            "--admin-token-file",
            tokenFile,
            "--block-age",
            "3000",
            "--label",
            "e2e",
            "--json",
        ])
        expect(r.stderr).not.toMatch(/[0-9a-f]{64}/)
        expect(r.code, r.stdout + r.stderr).toBe(0)
        const doc = JSON.parse(r.stdout)
        expect(doc.registration).toBe("registered")
        expect(doc.after.provisioned).toBe(true)
        expect(doc.after.pendingKey).toBe(false)
        expect(doc.config).toEqual({ FL_GATEWAY: gw.url, FL_BLOCK_AGE: 3000 })
        // The device's new chain reaches the gateway, which verified each block on ingest.
        const v = await until(
            "the gateway to acknowledge data blocks",
            async () => {
                const x = await view()
                return x.head && x.head.seq >= 2 ? x : undefined
            },
            120000
        )
        expect(v.securityEvents).toBe(0)
        const exported = await (await fetch(gw.url + "/v1/devices/" + DEVICE_ID + "/export")).json()
        expect(exported.blocks.length).toBeGreaterThanOrEqual(3)
    }, 200000)

    test("--check shows the state and how far the gateway acknowledged", async () => {
        const r = await run(["provision", "--check", "--sim", "--device", DEVICE_ID, "--json"])
        expect(r.code, r.stdout + r.stderr).toBe(0)
        const doc = JSON.parse(r.stdout)
        expect(doc.state.provisioned).toBe(true)
        expect(doc.gateway.known).toBe(true)
        expect(doc.gateway.ackedSeq).toBeGreaterThanOrEqual(2)
    }, 120000)

    test("re-provisioning without --force is refused and changes nothing", async () => {
        const r = await run(["provision", "--sim", "--device", DEVICE_ID, "--gateway", gw.url, "--admin-token-file", tokenFile, "--json"])
        expect(r.code, r.stdout + r.stderr).toBe(1)
        expect(JSON.parse(r.stdout).error).toBe("already-provisioned")
        const human = await run(["provision", "--sim", "--device", DEVICE_ID, "--gateway", gw.url, "--admin-token-file", tokenFile])
        expect(human.stderr).toMatch(/already provisioned[\s\S]*hint: --force/)
    }, 120000)

    test("--force is key succession: the gateway closes the old chain and verifies the successor", async () => {
        const r = await run([
            "provision",
            "--sim",
            "--device",
            DEVICE_ID,
            "--force",
            "--gateway",
            gw.url,
            "--admin-token-file",
            tokenFile,
            "--block-age",
            "3000",
            "--json",
        ])
        expect(r.code, r.stdout + r.stderr).toBe(0)
        const doc = JSON.parse(r.stdout)
        expect(doc.registration).toBe("succeeded")
        expect(doc.genesisLink).not.toBe("0".repeat(64))
        await until(
            "the successor chain at the gateway",
            async () => {
                const x = await view()
                return x.head && x.head.seq >= 1 ? x : undefined
            },
            120000
        )
        const events = (await (await fetch(gw.url + "/v1/devices/" + DEVICE_ID + "/events")).json()).events.map((e: any) => e.kind)
        expect(events).toContain("key-succession")
        const exported = await (await fetch(gw.url + "/v1/devices/" + DEVICE_ID + "/export")).json()
        expect(decodeBlock(Buffer.from(exported.blocks[0], "hex")).header.link.toString("hex")).toBe(doc.genesisLink)
    }, 200000)

    test("--force with a wrong admin token is refused before the device is touched: it keeps its chain and key", async () => {
        const before = await deviceState()
        const r = await run(
            ["provision", "--sim", "--device", DEVICE_ID, "--force", "--gateway", gw.url, "--block-age", "5000", "--json"],
            { FL_ADMIN_TOKEN: "wrong-token" }
        )
        expect(r.code, r.stdout + r.stderr).toBe(1)
        expect(JSON.parse(r.stdout).error).toBe("bad-token")
        const after = await deviceState()
        expect(after.provisionedAt).toBe(before.provisionedAt)
        expect(after.chain.previousChainHead).toBe(before.chain.previousChainHead)
        expect(after.config).toEqual(before.config)
        // The gateway still takes the chain it knows the key of.
        const { head, securityEvents } = await view()
        await until(
            "the gateway to take more of the same chain",
            async () => ((await view()).head.seq > head.seq ? true : undefined),
            120000
        )
        expect((await view()).securityEvents).toBe(securityEvents)
    }, 200000)

    test("gateway unreachable: a 0600 pending file, uploaded later with register", async () => {
        const pending = join(dir, "pending.json")
        // Registered against a dead address; the device itself syncs to the live gateway.
        const r = await run([
            "provision",
            "--sim",
            "--device",
            DEVICE_ID,
            "--force",
            "--gateway",
            "http://127.0.0.1:9",
            "--device-gateway",
            gw.url,
            "--admin-token-file",
            tokenFile,
            "--pending",
            pending,
            "--block-age",
            "3000",
            "--json",
        ])
        expect(r.code, r.stdout + r.stderr).toBe(0)
        const doc = JSON.parse(r.stdout)
        expect(doc.registration).toBe("pending")
        expect(statSync(pending).mode & 0o777).toBe(0o600)
        const up = await run(["register", "--pending", pending, "--gateway", gw.url, "--admin-token-file", tokenFile, "--json"])
        expect(up.code).toBe(0)
        expect(JSON.parse(up.stdout).results[0].outcome).toBe("succeeded")
        expect(existsSync(pending)).toBe(false)
        await until(
            "the third chain at the gateway",
            async () => {
                const x = await view()
                const exported = await (await fetch(gw.url + "/v1/devices/" + DEVICE_ID + "/export")).json()
                return x.head &&
                    x.head.seq >= 1 &&
                    decodeBlock(Buffer.from(exported.blocks[0], "hex")).header.link.toString("hex") === doc.genesisLink
                    ? x
                    : undefined
            },
            120000
        )
    }, 200000)

    test("a wrong admin token is refused with a hint", async () => {
        const r = await run(["register", "--pending", join(dir, "none.json")], { FL_ADMIN_TOKEN: "x" })
        expect(r.code, r.stdout + r.stderr).toBe(1)
        expect(r.stderr).toMatch(/cannot read pending file/)
    })
})
