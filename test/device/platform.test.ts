/**
 * The DeviceScript 2.16.4 runtime facts fieldledger's code relies on (docs/DEVICESCRIPT.md),
 * checked in the simulator so that a runtime that behaves otherwise fails here rather than in
 * the chain: the clock, number printing, 32-bit `%`, the Buffer differences from Node, the
 * device id under --test, and the settings store dropping a write silently when full.
 * Run: devs run test/device/platform.test.ts --test --test-self-exit (starts with empty flash).
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { settings } from "@devicescript/settings"
import { readSettingBytes } from "../../src/device/settingsstore"
import { mod } from "../../src/lib/codec/bytes"

/** A number the compiler cannot fold: 2^32 - 1 read from bytes at run time. */
function runtimeU32Max(): number {
    return Buffer.from("ffffffff", "hex").readUInt32LE(0)
}

describe("runtime", () => {
    test("ds.millis() stands still while a fiber runs and advances only across an await", async () => {
        await ds.sleep(0)
        const t0 = ds.millis()
        let x = 0
        for (let i = 0; i < 2000; i++) x += i
        expect(ds.millis()).toBe(t0)
        await ds.sleep(20)
        expect(ds.millis() > t0).toBe(true)
    })

    test("decimal numbers print with 6 or 7 significant digits", () => {
        // Computed at run time: the compiler would print a constant expression exactly.
        const x = runtimeU32Max() / 10000000000
        expect("" + x).toBe("0.429497")
        expect(JSON.stringify(x * 10000)).toBe("4294.967")
        expect("" + runtimeU32Max() / 3).toBe("1431655765")
    })

    test("% wraps an operand above 2^31 to 32 bits; the shared mod() does not", () => {
        const big = runtimeU32Max()
        expect(big).toBe(4294967295)
        expect(big % 128).toBe(-1)
        expect(mod(big, 128)).toBe(127)
    })

    test("the simulated device id under --test is 12abdd2289421234", () => {
        expect(ds.deviceIdentifier("self")).toBe("12abdd2289421234")
    })
})

describe("Buffer, where it differs from Node", () => {
    test("readUInt32BE is negative above 2^31 (readUInt32LE is not)", () => {
        const b = Buffer.from("ffffffff", "hex")
        expect(b.readUInt32BE(0)).toBe(-1)
        expect(b.readUInt32LE(0)).toBe(4294967295)
    })

    test("slice past the end does not clamp: it returns the length asked for", () => {
        const b = Buffer.from("0102030405", "hex")
        expect(b.slice(3, 10).length).toBe(7)
    })

    test("slice copies: a write into it leaves the original as it was", () => {
        const b = Buffer.from("0102030405", "hex")
        const s = b.slice(1, 3)
        s[0] = 0xff
        expect(b[1]).toBe(2)
    })

    test("Buffer.concat takes its buffers as arguments, not as an array", () => {
        const a = Buffer.from("0102", "hex")
        expect(Buffer.concat(a, a, a).toString("hex")).toBe("010201020102")
    })
})

describe("settings store (8 KB half in the simulator)", () => {
    test("36 distinct 200-byte values fit; the 37th set resolves but is not stored", async () => {
        const stored: boolean[] = []
        for (let i = 0; i < 37; i++) {
            const value = Buffer.alloc(200)
            value[0] = i
            await settings.set("pf" + i, value)
            const back = await readSettingBytes("pf" + i)
            stored.push(back !== undefined && back.length === 200 && back[0] === i)
        }
        let kept = 0
        for (const s of stored) if (s) kept++
        expect(kept).toBe(36)
        expect(stored[36]).toBe(false)
    })
})
