import { describe, expect, test } from "vitest"
import { deriveEpochKey } from "../../../src/lib/ledger/keys"
import { EpochKeyCache, KEY_GRID_INTERVAL } from "../../../tools/gateway/epochkeys"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { DEVICE_ID, testKey } from "../helpers/chains"

describe("epoch key cache", () => {
    test("gives K_seq for any seq, in any order, equal to the derivation from K_0", () => {
        const cache = new EpochKeyCache(nodeCrypto, DEVICE_ID, testKey())
        for (const seq of [3000, 0, 1, 1023, 1024, 1025, 2047, 2048, 5000, 17])
            expect(cache.keyAt(seq).equals(deriveEpochKey(nodeCrypto, testKey(), DEVICE_ID, seq)), "seq " + seq).toBe(true)
        expect(() => cache.keyAt(-1)).toThrow(RangeError)
    })

    test("reach extends the grid in the background; keys after it equal the derivation from K_0", async () => {
        const cache = new EpochKeyCache(nodeCrypto, DEVICE_ID, testKey())
        await Promise.all([cache.reach(3000), cache.reach(1000)])
        expect(cache.kept).toBe(Math.floor(3000 / KEY_GRID_INTERVAL) + 1)
        for (const seq of [2999, 3000, 700, 0])
            expect(cache.keyAt(seq).equals(deriveEpochKey(nodeCrypto, testKey(), DEVICE_ID, seq)), "seq " + seq).toBe(true)
        expect(cache.kept).toBe(Math.floor(3000 / KEY_GRID_INTERVAL) + 1)
    })
})
