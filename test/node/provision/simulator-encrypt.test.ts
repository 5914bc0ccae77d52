/**
 * `fieldledger provision --sim --encrypt` over the devtools bus against the running simulated
 * device and a gateway in this process: the owner's key file is written (and nothing of it is
 * printed), the device's new chain reaches the gateway encrypted, the gateway verifies it
 * without the data key, and `fieldledger verify --data-key` reads the readings from the
 * gateway's export.
 *
 * Uses TCP port 8082: a bus suite (vitest project "bus"), under the machine-wide bus lock.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { RECORD_DATA } from "../../../src/lib/codec/format"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import type { RunningGateway } from "../../../tools/gateway/server"
import { runCli as run, until, startSimulatedSetup } from "./cli"

const DEVICE_ID = "0123456789abcdef"
const TOKEN = "e2e-admin-token"

describe("provision --encrypt on the simulated device over the devtools bus", () => {
    let setup: Awaited<ReturnType<typeof startSimulatedSetup>>
    let dir: string
    let gw: RunningGateway
    let tokenFile: string

    beforeAll(async () => {
        setup = await startSimulatedSetup({ deviceId: DEVICE_ID, token: TOKEN, tempPrefix: "fl-e2e-encrypt-", masterKeyFill: 7 })
        ;({ dir, gw, tokenFile } = setup)
    }, 1000000)

    afterAll(async () => {
        await setup?.close()
    })

    test("the chain reaches the gateway encrypted, verified there; verify --data-key reads it", async () => {
        const keyFile = join(dir, "owner.datakey")
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
            "--encrypt",
            "--data-key-file",
            keyFile,
            "--json",
        ])
        expect(r.code, r.stdout + r.stderr).toBe(0)
        // D_0 is in the key file and nowhere in what the command printed.
        expect(r.stdout + r.stderr).not.toContain(readFileSync(keyFile, "utf8").trim())
        const doc = JSON.parse(r.stdout)
        expect(doc.encrypted).toBe(true)
        expect(doc.after.chain.encrypted).toBe(true)
        expect(readFileSync(keyFile, "utf8")).toMatch(/^[0-9a-f]{64}\n$/)
        expect(statSync(keyFile).mode & 0o777).toBe(0o600)
        const view = await until(
            "the gateway to acknowledge 3 blocks of the encrypted chain",
            async () => {
                const x = (await (await fetch(gw.url + "/v1/devices/" + DEVICE_ID)).json()) as any
                return x.head && x.head.seq >= 3 ? x : undefined
            },
            120000
        )
        expect(view.securityEvents).toBe(0)
        const text = await (await fetch(gw.url + "/v1/devices/" + DEVICE_ID + "/export")).text()
        const data = (JSON.parse(text).blocks as string[])
            .map(b => decodeBlock(Buffer.from(b, "hex")))
            .filter(b => b.header.type === RECORD_DATA)
        expect(data.length).toBeGreaterThanOrEqual(1)
        for (const b of data) expect(b.readings).toBeUndefined()
        const exportFile = join(dir, "chain.json")
        writeFileSync(exportFile, text)
        const v = await run(["verify", exportFile, "--data-key", keyFile, "--json"])
        expect(v.code, v.stdout + v.stderr).toBe(0)
        const report = JSON.parse(v.stdout)
        expect(report.readings.length).toBe(report.summary.readings)
        expect(report.readings.length).toBeGreaterThan(0)
        for (const row of report.readings) for (const x of row.values) if (x !== null) expect(Number.isFinite(x)).toBe(true)
    }, 300000)
})
