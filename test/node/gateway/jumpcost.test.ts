/**
 * What a forged block costs the gateway: a claimed seq jump far past the head, or a forgery
 * below it, must not make every request derive thousands of epoch keys, nor one request derive
 * them without letting other requests in. Counted in HMAC calls through the injected crypto.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { encodeContent } from "../../../src/lib/ledger/chain"
import { RECORD_GAP, TAG_BYTES } from "../../../src/lib/codec/format"
import type { LedgerCrypto } from "../../../src/lib/ledger/keys"
import { createGatewayApp } from "../../../tools/gateway/app"
const KEY_GRID_INTERVAL = 256
import { MAX_JUMP_PER_BATCH } from "../../../tools/gateway/ingest"
import { GatewayService } from "../../../tools/gateway/service"
import { SqliteStore } from "../../../tools/gateway/store"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, testKey } from "../helpers/chains"
import { ADMIN_TOKEN, batch, ID, MASTER_KEY, NOW, post, TestGateway } from "./helpers"
import { createReadToken } from "../../../tools/gateway/tokencli"

let hmacCalls = 0
const counting: LedgerCrypto = {
    sha256: nodeCrypto.sha256,
    hmacSha256: (key, data) => {
        hmacCalls++
        return nodeCrypto.hmacSha256(key, data)
    },
}

// Longer than a grid interval, so a forgery near the head is far from K_0.
const CHAIN = { dataBlocks: 600, perBlock: 1, gap: false }
const chain = buildChain(nodeCrypto, CHAIN)
const HEAD = chain.blocks.length - 1

/** A 100-odd byte gap record at `seq` declaring everything since the head dropped, tag made up. */
function forgedJump(seq: number): Buffer {
    const link = Buffer.alloc(32, seq % 251)
    const content = encodeContent(
        { seq, link, key: testKey() },
        {
            type: RECORD_GAP,
            time: { boot: 9, uptimeMs: 1 },
            intervalMs: 1000,
            gap: {
                reason: 1,
                lostReadings: 0,
                firstLostSeq: HEAD + 1,
                lostBlocks: seq - HEAD - 1,
                lastLostHash: link,
                from: { boot: 9, uptimeMs: 0 },
            },
        }
    )
    return Buffer.concat([content, Buffer.alloc(TAG_BYTES, 0xee)])
}

/** The most HMACs run between two turns of the event loop while `work` runs. */
async function largestSlice<T>(work: () => Promise<T>): Promise<{ result: T; slice: number }> {
    let slice = 0
    let last = hmacCalls
    let running = true
    const tick = () => {
        slice = Math.max(slice, hmacCalls - last)
        last = hmacCalls
        if (running) setImmediate(tick)
    }
    setImmediate(tick)
    const result = await work()
    running = false
    tick()
    return { result, slice }
}

let gw: TestGateway
beforeEach(async () => {
    const dir = ":memory:"
    const store = new SqliteStore(dir)
    const service = await GatewayService.open({ store, masterKey: MASTER_KEY, crypto: counting, now: () => NOW })
    const app = createGatewayApp({ service, adminToken: ADMIN_TOKEN, log: () => {} })
    gw = { dir, dbPath: dir, store, service, app, readToken: (await createReadToken(store, {})).token, close: () => store.close() }
    await service.register({ deviceId: ID, key0: testKey().toString("hex") })
    let ack
    for (let i = 0; i < chain.blocks.length; i += 200) ack = (await post(gw, batch(chain.blocks.slice(i, i + 200)))).body.ack
    expect(ack).toBe(HEAD)
})
afterEach(() => gw.close())

describe("forged blocks cost little", () => {
    test("a jump claimed far past the head: walked once, a slice per turn; later claims cost at most one grid interval", async () => {
        const first = await largestSlice(() => post(gw, batch([forgedJump(HEAD + MAX_JUMP_PER_BATCH)])))
        expect(first.result.body).toMatchObject({ error: "bad-tag", ack: HEAD })
        // The walk to the claimed seq ran, but never more than two grid intervals between turns.
        expect(first.slice).toBeLessThanOrEqual(2 * KEY_GRID_INTERVAL + 16)
        for (const back of [1, 300, 5000, 40000, MAX_JUMP_PER_BATCH - 2]) {
            const before = hmacCalls
            const r = await post(gw, batch([forgedJump(HEAD + MAX_JUMP_PER_BATCH - back)]))
            expect(r.body).toMatchObject({ error: "bad-tag", ack: HEAD })
            expect(hmacCalls - before, "claim " + back + " below the furthest").toBeLessThanOrEqual(KEY_GRID_INTERVAL + 16)
        }
    })

    test("forged blocks below the head: the first walks a slice per turn; later ones cost at most one grid interval", async () => {
        const forged = (seq: number) => {
            const bytes = Buffer.from(chain.blocks[seq].bytes)
            bytes[bytes.length - 1] ^= 1
            return bytes
        }
        const first = await largestSlice(() => post(gw, batch([forged(HEAD - 1)])))
        expect(first.result.body).toMatchObject({ error: "bad-tag", seq: HEAD - 1 })
        expect(first.slice).toBeLessThanOrEqual(2 * KEY_GRID_INTERVAL + 16)
        for (const seq of [HEAD - 2, HEAD - 200, 300, 1]) {
            const before = hmacCalls
            const r = await post(gw, batch([forged(seq)]))
            expect(r.body).toMatchObject({ error: "bad-tag", seq })
            expect(hmacCalls - before, "seq " + seq).toBeLessThanOrEqual(KEY_GRID_INTERVAL + 16)
        }
    })

    test("a genuine jump still lands and is stored, its key taken from the grid", async () => {
        // The device's own chain, sealed on past dropped blocks: it must verify as before.
        const ledger = buildChain(nodeCrypto, CHAIN).ledger
        const lost = 3000
        const dropped = []
        for (let i = 0; i < lost; i++)
            dropped.push(...ledger.append([1, 2], { boot: 1, uptimeMs: 100 + i * 1000 }), ...[ledger.sealOpen()].filter(b => b))
        const firstLost = dropped[0].seq
        const last = dropped[dropped.length - 1]
        const [gap] = ledger.sealGap(
            {
                reason: 1,
                lostReadings: dropped.length,
                lostBlocks: dropped.length,
                firstLostSeq: firstLost,
                lastLostHash: last.hash,
                from: { boot: 1, uptimeMs: 100 },
            },
            { boot: 2, uptimeMs: 5 }
        )
        expect(firstLost).toBe(HEAD + 1)
        const r = await post(gw, batch([gap]))
        expect(r.status).toBe(200)
        expect(r.body).toMatchObject({ ack: gap.seq, stored: 1 })
    })
})
