/** The gateway through a real HTTP server on 127.0.0.1, port 0. */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, expect, test } from "vitest"
import { deriveAckKey, readSignedAck } from "../../../src/lib/sync/syncwire"
import { verifyChain } from "../../../src/lib/ledger/verify"
import { nobleCrypto } from "../../../tools/lib/crypto"
import { parseExport } from "../../../tools/lib/exportfile"
import { RunningGateway, startGateway } from "../../../tools/gateway/server"
import { createReadToken } from "../../../tools/gateway/tokencli"
import { buildChain, DEVICE_ID, testKey } from "../helpers/chains"
import { ADMIN_TOKEN, batch, ID, MASTER_KEY, NONCE, removeDir } from "./helpers"

let gateway: RunningGateway
const dir = mkdtempSync(join(tmpdir(), "fl-gateway-http-"))
beforeAll(async () => {
    gateway = await startGateway({ db: join(dir, "g.db"), host: "127.0.0.1", port: 0, adminToken: ADMIN_TOKEN, masterKey: MASTER_KEY })
})
afterAll(async () => {
    await gateway.close()
    removeDir(dir)
})

test("registers a device, takes its chain over HTTP with a signed ack, and exports it", async () => {
    expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const reg = await fetch(gateway.url + "/v1/devices", {
        method: "POST",
        headers: { authorization: "Bearer " + ADMIN_TOKEN, "content-type": "application/json" },
        body: JSON.stringify({ deviceId: ID, key0: testKey().toString("hex") }),
    })
    expect(reg.status).toBe(201)
    const chain = buildChain(nobleCrypto)
    const res = await fetch(gateway.url + "/v1/devices/" + ID + "/blocks?backlog=" + chain.blocks.length, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(batch(chain.blocks)),
    })
    expect(res.status).toBe(200)
    const ack = readSignedAck(nobleCrypto, deriveAckKey(nobleCrypto, testKey(), DEVICE_ID), DEVICE_ID, NONCE, await res.json())
    expect(ack?.ack).toBe(chain.blocks.length - 1)
    const big = await fetch(gateway.url + "/v1/devices/" + ID + "/blocks", {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(20000).fill(1),
    })
    expect(big.status).toBe(413)
    const { token } = await createReadToken(gateway.service.store, { label: "server test" })
    const exported = await fetch(gateway.url + "/v1/devices/" + ID + "/export", { headers: { authorization: "Bearer " + token } })
    const file = parseExport(await exported.text())
    expect(
        verifyChain(nobleCrypto, file.blocks, { deviceId: DEVICE_ID, key0: testKey(), expectedHead: { seq: ack!.ack, hash: ack!.head } }).ok
    ).toBe(true)
})
