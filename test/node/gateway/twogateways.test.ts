/**
 * Two gateways on one database, each with its own in-memory sessions: a gateway whose cached
 * head another moved, or whose cached K_0 another replaced (a key succession), must notice
 * under the device's lock and decide on what the database holds. Run on PostgreSQL (the fleet)
 * and on SQLite (two handles on one file, as two processes on one machine would hold).
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, test } from "vitest"
import { newChainHead } from "../../../src/lib/ledger/chain"
import { Ledger } from "../../../src/lib/ledger/ledger"
import { createGatewayApp } from "../../../tools/gateway/app"
import { PgStore } from "../../../tools/gateway/pgstore"
import { GatewayService } from "../../../tools/gateway/service"
import { GatewayStore, SqliteStore } from "../../../tools/gateway/store"
import { succeed } from "../../../tools/gateway/succession"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, CHANNELS, DEVICE_ID, testKey } from "../helpers/chains"
import { testPgDatabase } from "../helpers/pg"
import { ADMIN_TOKEN, batch, ID, MASTER_KEY, NOW, post, removeDir, TestGateway } from "./helpers"
import { createReadToken } from "../../../tools/gateway/tokencli"

const backends = [
    {
        name: "postgres",
        async open(): Promise<[GatewayStore, GatewayStore, () => void]> {
            const url = await testPgDatabase("two" + Math.floor(Math.random() * 1e9))
            return [await PgStore.open(url), await PgStore.open(url), () => {}]
        },
    },
    {
        name: "sqlite",
        async open(): Promise<[GatewayStore, GatewayStore, () => void]> {
            const dir = mkdtempSync(join(tmpdir(), "fl-two-"))
            const path = join(dir, "gateway.db")
            return [new SqliteStore(path), new SqliteStore(path), () => removeDir(dir)]
        },
    },
]

async function gateway(store: GatewayStore): Promise<TestGateway> {
    const service = await GatewayService.open({ store, masterKey: MASTER_KEY, now: () => NOW })
    const app = createGatewayApp({ service, adminToken: ADMIN_TOKEN, log: () => {}, now: () => NOW })
    const { token: readToken } = await createReadToken(store, {})
    return { dir: "", dbPath: "", store: store as SqliteStore, service, app, readToken, close: () => store.close() }
}

describe.each(backends)("two gateways on one database ($name)", backend => {
    let a: TestGateway
    let b: TestGateway
    let cleanup = () => {}
    afterEach(async () => {
        await a?.close()
        await b?.close()
        cleanup()
    })

    async function open() {
        const [one, two, done] = await backend.open()
        cleanup = done
        a = await gateway(one)
        b = await gateway(two)
        await a.service.register({ deviceId: ID, key0: testKey().toString("hex") })
    }

    test("each takes batches where the other left the chain: stored once, acked at the true head", async () => {
        await open()
        const chain = buildChain(nodeCrypto, { dataBlocks: 9, gap: false }).blocks
        expect((await post(a, batch(chain.slice(0, 3)))).body).toMatchObject({ ack: 2, stored: 3 })
        expect((await post(b, batch(chain.slice(3, 6)))).body).toMatchObject({ ack: 5, stored: 3 })
        // a's session still expects seq 3: it must see the head at 5, not refuse a gap.
        expect((await post(a, batch(chain.slice(6, 8)))).body).toMatchObject({ ack: 7, stored: 2 })
        // A re-delivery at b, whose session expects 6: duplicates, acked at the head a stored.
        const again = await post(b, batch(chain.slice(4, 8)))
        expect(again.status).toBe(200)
        expect(again.body).toMatchObject({ ack: 7, stored: 0, duplicates: 4 })
        expect((await post(b, batch(chain.slice(8)))).body).toMatchObject({ ack: chain.length - 1, stored: chain.length - 8 })
        expect((await a.store.counts()).blocks).toBe(chain.length)
        expect((await a.store.device(ID))!.blockCount).toBe(chain.length)
    })

    test("a key succession at one gateway: the other opens the new K_0 for the new chain", async () => {
        await open()
        const chain = buildChain(nodeCrypto, { dataBlocks: 3, gap: false }).blocks
        expect((await post(a, batch(chain.slice(0, 2)))).status).toBe(200)
        expect((await post(b, batch(chain.slice(2)))).status).toBe(200)
        const key = testKey(0x77)
        const ledger = new Ledger(nodeCrypto, DEVICE_ID, CHANNELS, newChainHead(Buffer.from(key), chain[chain.length - 1].hash), {
            intervalMs: 1000,
            maxReadingsPerBlock: 4,
        })
        const genesis = ledger.sealGenesis({ boot: 2, uptimeMs: 0 }, "test/2", "sim")
        const r = await succeed(a.service, ID, { key0: key.toString("hex"), genesis: genesis.bytes.toString("hex") }, NOW)
        expect(r).toMatchObject({ closedChain: 1, linkMatches: true, closedHead: { seq: chain.length - 1 } })
        const next = [genesis, ...ledger.append([1, 2], { boot: 2, uptimeMs: 1000 })]
        for (let i = 0; i < 8; i++) next.push(...ledger.append([3, i], { boot: 2, uptimeMs: 2000 + i * 1000 }))
        // b still holds the old chain's session and K_0: it must take the new chain under the new key.
        const reply = await post(b, batch(next))
        expect(reply.status, JSON.stringify(reply.body)).toBe(200)
        expect(reply.body).toMatchObject({ ack: next.length - 1, stored: next.length })
        // And an old chain's block, re-sent to b, is no longer of this chain.
        expect((await post(b, batch([chain[1].bytes]))).status).not.toBe(200)
    })
})
