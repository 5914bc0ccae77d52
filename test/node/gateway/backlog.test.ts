/**
 * The backlog the fleet shows is what the device holds after its latest sync: the `?backlog=`
 * it reported with the batch, less what the batch's ack lets it forget.
 */
import { describe, expect, test } from "vitest"
import { backlogAfterAck, batchSeqs } from "../../../tools/gateway/backlogleft"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain } from "../helpers/chains"
import { batch, gatewayPerTest, get, ID, post } from "./helpers"

const blocks = buildChain(nodeCrypto, { dataBlocks: 5, gap: false }).blocks

const gw = gatewayPerTest()

const sync = (from: number, to: number, backlog: number) =>
    post(gw, batch(blocks.slice(from, to)), "/v1/devices/" + ID + "/blocks?backlog=" + backlog)
const shown = async () => (await get(gw, "/v1/devices/" + ID)).body.reportedBacklog

describe("reported backlog", () => {
    test("a device that sends everything it holds shows 0 after the sync, not what it held before", async () => {
        expect((await sync(0, 2, 2)).status).toBe(200)
        expect(await shown()).toBe(0)
    })

    test("a device that holds more than one batch shows what the ack leaves", async () => {
        // It holds all 6 blocks and sends its oldest 4; then the remaining 2.
        await sync(0, 4, blocks.length)
        expect(await shown()).toBe(2)
        await sync(4, 6, 2)
        expect(await shown()).toBe(0)
    })

    test("a batch stopped part way: the blocks after the stop stay in the backlog", async () => {
        const tampered = Buffer.from(blocks[2].bytes)
        tampered[tampered.length - 1] ^= 1
        const r = await post(
            gw,
            batch([blocks[0], blocks[1], tampered, blocks[3]]),
            "/v1/devices/" + ID + "/blocks?backlog=" + blocks.length
        )
        expect(r.body).toMatchObject({ error: "bad-tag", ack: 1, stored: 2 })
        expect(await shown()).toBe(blocks.length - 2)
    })
})

describe("backlogAfterAck", () => {
    test.each([
        ["all sent, all acked", 3, [0, 1, 2], 2, 0],
        ["all sent, a prefix acked", 3, [0, 1, 2], 0, 2],
        ["none acked", 3, [0, 1, 2], -1, 3],
        ["more held than sent", 10, [4, 5, 6], 6, 7],
        // The gateway already held blocks past the batch (an earlier ack was lost): the device forgets those too.
        ["an ack past the batch", 10, [4, 5, 6], 8, 5],
        ["an ack past everything held", 4, [4, 5], 50, 0],
        // A batch that skips the pending loss (genesis unacknowledged, 1..3 dropped).
        ["a batch around a loss", 3, [0, 4, 5], 5, 0],
        ["an unreadable block is never acknowledged", 2, [0, NaN], 5, 1],
        ["a report smaller than the batch (not the device's count)", 1, [0, 1, 2], 0, 1],
    ])("%s", (_, reported, seqs, ack, left) => {
        expect(backlogAfterAck(reported as number, seqs as number[], ack as number)).toBe(left)
    })

    test("batchSeqs reads each block's seq from its header", () => {
        expect(batchSeqs([blocks[0].bytes, blocks[3].bytes, Buffer.from([9, 9])])).toEqual([0, 3, NaN])
    })
})
