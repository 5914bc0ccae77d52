/**
 * Security events under a flood: what only a key holder can cause (a fork, a bad link) is never
 * trimmed, whatever anyone posts; an event seen again is one entry with its count and first and
 * last time.
 */
import { beforeEach, describe, expect, test } from "vitest"
import { FLOODABLE_EVENT_KINDS, MAX_FLOOD_EVENTS_PER_DEVICE } from "../../../tools/gateway/store"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain } from "../helpers/chains"
import { batch, gatewayPerTest, get, ID, NOW, post } from "./helpers"

// Format v1: a v2 tag binds the link, so a v2 block on another history is a bad tag, never a bad link;
// the gateway still takes v1 chains, and what is tested here, the events a flood leaves, is the same.
const blocks = buildChain(nodeCrypto, { dataBlocks: 6, formatVersion: 1 }).blocks
/** The same K_0, other readings: its blocks have valid tags but other bytes (a fork, or a bad link). */
const sibling = buildChain(nodeCrypto, { dataBlocks: 6, perBlock: 7, formatVersion: 1 }).blocks
const MINUTE = 60000

let clock = NOW
beforeEach(() => {
    clock = NOW
})
const gw = gatewayPerTest({ now: () => clock })

/** Block 4 with its tag's last two bytes replaced by n: a distinct block whose tag fails. */
function forged(n: number): Buffer {
    const copy = Buffer.from(blocks[4].bytes)
    copy.writeUInt16BE(n, copy.length - 2)
    return copy
}

const events = async () => (await get(gw, "/v1/devices/" + ID + "/events")).body.events

describe("security events", () => {
    test("1,050 unauthenticated bad-tag posts erase neither a recorded fork nor a bad link", async () => {
        expect((await post(gw, batch(blocks.slice(0, 4)))).status).toBe(200)
        expect((await post(gw, batch([sibling[2]]))).body.error).toBe("fork")
        expect((await post(gw, batch([sibling[4]]))).body.error).toBe("bad-link")
        for (let i = 0; i < MAX_FLOOD_EVENTS_PER_DEVICE + 50; i++) {
            clock += 1
            expect((await post(gw, batch([forged(i)]))).body.error).toBe("bad-tag")
        }
        const all = await events()
        expect(all.filter((e: any) => e.kind === "fork")).toMatchObject([{ seq: 2, block: sibling[2].bytes.toString("hex") }])
        expect(all.filter((e: any) => e.kind === "bad-link")).toMatchObject([{ seq: 4, block: sibling[4].bytes.toString("hex") }])
        const badTags = all.filter((e: any) => e.kind === "bad-tag")
        expect(badTags).toHaveLength(MAX_FLOOD_EVENTS_PER_DEVICE)
        // The most recently seen are kept.
        expect(badTags[badTags.length - 1].block).toBe(forged(MAX_FLOOD_EVENTS_PER_DEVICE + 49).toString("hex"))
        expect(badTags[0].block).toBe(forged(50).toString("hex"))
    }, 120000)

    test("only kinds anyone can cause are trimmed", () => {
        expect(FLOODABLE_EVENT_KINDS).toEqual(["bad-tag"])
    })

    test("the same event seen again is one entry with its count, first and last time", async () => {
        await post(gw, batch(blocks.slice(0, 4)))
        for (let i = 0; i < 3; i++) {
            clock = NOW + i * MINUTE
            await post(gw, batch([forged(7)]))
            await post(gw, batch([sibling[2]]))
        }
        clock = NOW + 10 * MINUTE
        await post(gw, batch([forged(8)]))
        expect(await events()).toEqual([
            expect.objectContaining({
                kind: "bad-tag",
                seq: 4,
                count: 3,
                firstSeen: new Date(NOW).toISOString(),
                lastSeen: new Date(NOW + 2 * MINUTE).toISOString(),
            }),
            expect.objectContaining({
                kind: "fork",
                seq: 2,
                count: 3,
                firstSeen: new Date(NOW).toISOString(),
                lastSeen: new Date(NOW + 2 * MINUTE).toISOString(),
            }),
            expect.objectContaining({
                kind: "bad-tag",
                seq: 4,
                count: 1,
                firstSeen: new Date(NOW + 10 * MINUTE).toISOString(),
                lastSeen: new Date(NOW + 10 * MINUTE).toISOString(),
            }),
        ])
        // A device's figure counts events, not sightings.
        expect((await get(gw, "/v1/devices/" + ID)).body.securityEvents).toBe(3)
    })
})
