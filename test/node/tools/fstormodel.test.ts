/**
 * The settings-store model behind the endurance benchmark, held to what the DeviceScript
 * 2.16.4 simulator measured (200-byte values, each read back): 36 distinct keys fit in the
 * 8 KB half and the 37th write is dropped; a ring of 35 overwritten slot keys runs forever,
 * one of 36 loses its first overwrite; a ring that deletes old keys fills up for good.
 */
import { describe, expect, test } from "vitest"
import { FstorModel } from "../../../tools/bench/fstormodel"

const value = (i: number) => Buffer.alloc(200, i & 0xff)

async function kept(flash: FstorModel, key: string, v: Buffer) {
    await flash.set(key, v)
    return (await flash.get(key))?.equals(v) ?? false
}

describe("settings store model", () => {
    test("holds 36 distinct 200-byte values and silently drops the 37th", async () => {
        const flash = new FstorModel(8144)
        for (let i = 0; i < 36; i++) expect(await kept(flash, "b" + i, value(i))).toBe(true)
        expect(await kept(flash, "b36", value(36))).toBe(false)
    })

    test.each([
        [35, true],
        [36, false],
    ])("a ring of %i slot keys overwritten 300 times keeps every write: %s", async (slots, ok) => {
        const flash = new FstorModel(8144)
        let all = true
        for (let i = 0; i < 300; i++) all = (await kept(flash, "s" + (i % slots), value(i))) && all
        expect(all).toBe(ok)
    })

    test("a ring that deletes old keys fills up, because delete markers are never collected", async () => {
        const flash = new FstorModel(8144)
        let firstLoss = -1
        for (let i = 0; i < 300 && firstLoss < 0; i++) {
            if (!(await kept(flash, "b" + i, value(i)))) firstLoss = i
            if (i >= 10) await flash.delete("b" + (i - 10))
        }
        expect(firstLoss).toBe(187) // measured in the simulator for a ring of 10
    })
})
