/**
 * What the gateway says about a device being alive: `lastSeen` moves only with a new block, and
 * `blockPeriodMs` says how often the device seals (and so syncs), from the chain's device times.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import { newChainHead, SealedBlock } from "../../../src/lib/ledger/chain"
import { deriveAckKey, readSignedAck } from "../../../src/lib/sync/syncwire"
import { Ledger } from "../../../src/lib/ledger/ledger"
import { nobleCrypto, nodeCrypto } from "../../../tools/lib/crypto"
import { CHANNELS, DEVICE_ID, hourlyChain, testKey } from "../helpers/chains"
import { batch, get, ID, NONCE, NOW, openGateway, post, registerTestDevice, removeDir, TestGateway } from "./helpers"

const MINUTE = 60000
const HOUR = 60 * MINUTE

let clock = NOW
let gw: TestGateway
beforeEach(async () => {
    clock = NOW
    gw = await openGateway(undefined, undefined, () => clock)
    await registerTestDevice(gw)
})
afterEach(async () => {
    await gw.close()
    removeDir(gw.dir)
})

describe("blockPeriodMs", () => {
    test("is an hour for a device sealing hourly, though every block arrived in one batch", async () => {
        const blocks = hourlyChain(nodeCrypto, { hours: 10 })
        expect((await post(gw, batch(blocks))).body).toMatchObject({ stored: blocks.length })
        expect((await get(gw, "/v1/devices/" + ID)).body.blockPeriodMs).toBe(HOUR)
        expect((await get(gw, "/v1/devices")).body.devices[0].blockPeriodMs).toBe(HOUR)
    })

    test("follows the newest blocks: a device that now seals every 10 minutes reports 10 minutes", async () => {
        const ledger = new Ledger(nodeCrypto, DEVICE_ID, CHANNELS, newChainHead(testKey()), { intervalMs: MINUTE, maxBlockAgeMs: HOUR })
        const blocks: SealedBlock[] = [ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "test/1", "esp32c3")]
        for (let minute = 1; minute <= 30 * 60; minute++) {
            const time = { boot: 0, uptimeMs: minute * MINUTE }
            // 20 hours sealing hourly, then every 10 minutes (sealed early, as a full block is).
            const due = minute <= 20 * 60 ? ledger.tick(time) : (minute - 1) % 10 === 0 ? ledger.sealOpen() : undefined
            if (due) blocks.push(due)
            blocks.push(...ledger.append([2000, 5000], time))
        }
        expect((await post(gw, batch(blocks))).body).toMatchObject({ stored: blocks.length })
        expect((await get(gw, "/v1/devices/" + ID)).body.blockPeriodMs).toBe(10 * MINUTE)
    })

    test("is null before two data blocks of one boot are stored", async () => {
        expect((await get(gw, "/v1/devices/" + ID)).body.blockPeriodMs).toBeNull()
        const blocks = hourlyChain(nodeCrypto, { hours: 1 })
        await post(gw, batch(blocks))
        expect((await get(gw, "/v1/devices/" + ID)).body.blockPeriodMs).toBeNull()
    })
})

describe("lastSeen", () => {
    const ackKey = deriveAckKey(nobleCrypto, testKey(), DEVICE_ID)

    test("a replayed batch of re-deliveries is acked but does not make a silent device look alive", async () => {
        const blocks = hourlyChain(nodeCrypto, { hours: 4 })
        expect((await post(gw, batch(blocks.slice(0, 3)), "/v1/devices/" + ID + "/blocks?backlog=5")).status).toBe(200)
        const first = (await get(gw, "/v1/devices/" + ID)).body
        expect(first).toMatchObject({ lastSeen: new Date(NOW).toISOString(), reportedBacklog: 2 })

        // Three hours later someone replays that captured batch (or the device resends it,
        // having missed the ack): acked as before, signed, nothing stored, nothing refreshed.
        clock = NOW + 3 * HOUR
        const replay = await post(gw, batch(blocks.slice(0, 3)), "/v1/devices/" + ID + "/blocks?backlog=0")
        expect(replay.status).toBe(200)
        expect(replay.body).toMatchObject({ ack: 2, stored: 0, duplicates: 3, time: Math.floor(clock / 1000) })
        expect(readSignedAck(nobleCrypto, ackKey, DEVICE_ID, NONCE, replay.body)).toMatchObject({ ack: 2 })
        expect((await get(gw, "/v1/devices/" + ID)).body).toMatchObject({ lastSeen: first.lastSeen, reportedBacklog: 2 })

        // A batch with one new block among re-deliveries: the device is seen.
        clock = NOW + 4 * HOUR
        expect((await post(gw, batch(blocks.slice(1)), "/v1/devices/" + ID + "/blocks?backlog=" + (blocks.length - 1))).body).toMatchObject(
            { stored: blocks.length - 3, duplicates: 2 }
        )
        expect((await get(gw, "/v1/devices/" + ID)).body).toMatchObject({ lastSeen: new Date(clock).toISOString(), reportedBacklog: 0 })
    })
})
