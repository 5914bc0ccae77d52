/**
 * Long answers (export, readings, block list) are read from the store a page at a time as the
 * client reads them, never built whole; one request covers at most MAX_BLOCKS_PER_REQUEST
 * blocks and says where to go on; the export stays byte for byte the export file format.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { verifyChain } from "../../../src/lib/ledger/verify"
import { MAX_BLOCKS_PER_REQUEST } from "../../../tools/gateway/service"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { formatExport, parseExport } from "../../../tools/lib/exportfile"
import { buildChain, DEVICE_ID, testKey } from "../helpers/chains"
import { batch, get, ID, openGateway, post, readHeaders, registerTestDevice, removeDir, TestGateway } from "./helpers"

const chain = buildChain(nodeCrypto, { dataBlocks: 3000, perBlock: 2, gap: false })

let gw: TestGateway
beforeEach(async () => {
    gw = await openGateway()
    await registerTestDevice(gw)
    for (let i = 0; i < chain.blocks.length; i += 150) expect((await post(gw, batch(chain.blocks.slice(i, i + 150)))).status).toBe(200)
})
afterEach(async () => {
    await gw.close()
    removeDir(gw.dir)
})

/** Counts the block rows the store hands out. */
function countRows(): { rows: number } {
    const seen = { rows: 0 }
    const blocks = gw.store.blocks.bind(gw.store)
    gw.store.blocks = async (...args) => {
        const page = await blocks(...args)
        seen.rows += page.length
        return page
    }
    return seen
}

describe("streamed answers", () => {
    test("the export is byte for byte the export file of the chain, and verifies", async () => {
        const r = await get(gw, "/v1/devices/" + ID + "/export")
        const head = chain.blocks[chain.blocks.length - 1]
        expect(r.text).toBe(
            formatExport({ deviceId: DEVICE_ID, blocks: chain.blocks.map(b => b.bytes), head: { seq: head.seq, hash: head.hash } })
        )
        expect(verifyChain(nodeCrypto, parseExport(r.text).blocks, { deviceId: DEVICE_ID, key0: testKey() }).ok).toBe(true)
    })

    test.each(["/export", "/readings", "/readings?format=csv", "/blocks"])(
        "%s reads the store only as far as the client has read",
        async path => {
            const seen = countRows()
            const res = await gw.app.request("/v1/devices/" + ID + path, { headers: readHeaders(gw) })
            expect(res.status).toBe(200)
            const reader = res.body!.getReader()
            let pieces = 0
            while (seen.rows === 0 && !(await reader.read()).done) pieces++
            // The first pieces read: a couple of pages fetched at most, not the 3001 blocks.
            expect(seen.rows).toBeGreaterThan(0)
            expect(seen.rows).toBeLessThanOrEqual(1024)
            while (!(await reader.read()).done) pieces++
            expect(pieces).toBeGreaterThan(2)
            expect(seen.rows).toBeGreaterThanOrEqual(chain.blocks.length)
        }
    )

    test("readings and the block list keep their shapes", async () => {
        const readings = (await get(gw, "/v1/devices/" + ID + "/readings?from=1&to=2")).body
        expect(Object.keys(readings)).toEqual(["deviceId", "channels", "readings"])
        expect(readings.channels).toEqual(decodeBlock(chain.blocks[0].bytes).genesis.channels)
        expect(readings.readings.map((r: { seq: number; uptimeMs: number }) => [r.seq, r.uptimeMs])).toEqual([
            [1, 1000],
            [1, 2000],
            [2, 3000],
            [2, 4000],
        ])
        expect(Object.keys(readings.readings[0])).toEqual(["seq", "boot", "uptimeMs", "values"])
        const list = (await get(gw, "/v1/devices/" + ID + "/blocks?from=2999&limit=5")).body
        expect(list.deviceId).toBe(ID)
        expect(list.blocks.map((b: { seq: number }) => b.seq)).toEqual([2999, 3000])
        expect(list.next).toBeUndefined()
    })

    test("one request covers at most MAX_BLOCKS_PER_REQUEST blocks; `next` says where to go on", async () => {
        // Summary rows only (the list needs no block bytes): enough to pass the cap.
        const extra = MAX_BLOCKS_PER_REQUEST
        const base = chain.blocks.length
        const filler = Array.from({ length: extra }, (_, i) => ({
            seq: base + i,
            type: 1,
            boot: 0,
            uptimeMs: 0,
            unixTime: null as number | null,
            readingCount: 0,
            lostReadings: 0,
            lostBlocks: 0,
            hash: Buffer.alloc(32),
            bytes: Buffer.alloc(1),
        }))
        await gw.store.commitBatch({ deviceId: ID, now: 0, blocks: filler, events: [] })
        const first = (await get(gw, "/v1/devices/" + ID + "/blocks")).body
        expect(first.blocks.length).toBe(MAX_BLOCKS_PER_REQUEST)
        expect(first.next).toBe(MAX_BLOCKS_PER_REQUEST)
        const rest = (await get(gw, "/v1/devices/" + ID + "/blocks?from=" + first.next)).body
        expect(rest.blocks.length).toBe(base + extra - MAX_BLOCKS_PER_REQUEST)
        expect(rest.next).toBeUndefined()
        const csv = await gw.app.request("/v1/devices/" + ID + "/readings?format=csv&from=1", { headers: readHeaders(gw) })
        expect(csv.headers.get("x-next-from")).toBe(String(1 + MAX_BLOCKS_PER_REQUEST))
        await csv.body!.cancel()
        expect((await get(gw, "/v1/devices/" + ID + "/blocks?limit=" + (MAX_BLOCKS_PER_REQUEST + 1))).status).toBe(400)
    })
})
