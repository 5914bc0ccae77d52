import { describe, expect, it } from "vitest"
import {
    ltr390Count,
    ltr390FullScale,
    ltr390Lux,
    ltr390LuxCount,
    ltr390Uvi,
    ltr390UviCount,
    LTR390_GAINS,
    LTR390_INTEGRATION_MS,
    LTR390_RESOLUTION_BITS,
} from "../../../../src/lib/sensors/ltr390calc"
import { FrameError } from "../../../../src/lib/sensors/sensirion"

/** Codes of the GAIN and MEAS_RATE registers (datasheet). */
const GAIN_1 = 0
const GAIN_3 = 1
const GAIN_18 = 4
const RES_20BIT = 0
const RES_18BIT = 2
const RES_13BIT = 5

describe("LTR-390 register codes", () => {
    it("gain codes 0..4 are x1, x3, x6, x9, x18; resolution codes 0..5 are 20..13 bits at 400..12.5 ms", () => {
        expect(LTR390_GAINS).toEqual([1, 3, 6, 9, 18])
        expect(LTR390_RESOLUTION_BITS).toEqual([20, 19, 18, 17, 16, 13])
        expect(LTR390_INTEGRATION_MS).toEqual([400, 200, 100, 50, 25, 12.5])
        expect(ltr390FullScale(RES_18BIT)).toBe(262143)
        expect(ltr390FullScale(RES_13BIT)).toBe(8191)
    })
})

describe("LTR-390 data registers", () => {
    it("are 20 bits, least significant byte first", () => {
        expect(ltr390Count(Buffer.from([0x56, 0x34, 0x02]), RES_18BIT)).toBe(0x23456)
        expect(ltr390Count(Buffer.from([0xff, 0xff, 0x0f]), RES_20BIT)).toBe(0xfffff)
    })
    it("refuse a count the part cannot give: beyond the resolution, or in the unused high nibble", () => {
        const bad: [string, Buffer, number][] = [
            ["bit 18 at 18-bit resolution", Buffer.from([0, 0, 0x04]), RES_18BIT],
            ["bit 13 at 13-bit resolution", Buffer.from([0, 0x20, 0]), RES_13BIT],
            ["unused bit 7 of the third byte", Buffer.from([0, 0, 0x80]), RES_20BIT],
        ]
        for (const [what, data, res] of bad) expect(() => ltr390Count(data, res), what).toThrow(FrameError)
        expect(() => ltr390Count(Buffer.from([1, 2]), RES_18BIT)).toThrow(/2 bytes, expected 3/)
    })
})

describe("LTR-390 conversions (datasheet formulas, W_FAC 1)", () => {
    it("lux = 0.6 * count / (gain * integration time / 100 ms)", () => {
        // Gain 3, 100 ms: 1000 counts are 200 lx.
        expect(ltr390Lux(1000, GAIN_3, RES_18BIT)).toBeCloseTo(200, 9)
        // Gain 1, 100 ms: 0.6 lx per count; full scale is 157,286 lx.
        expect(ltr390Lux(1, GAIN_1, RES_18BIT)).toBeCloseTo(0.6, 12)
        expect(ltr390Lux(ltr390FullScale(RES_18BIT), GAIN_1, RES_18BIT)).toBeCloseTo(157285.8, 1)
        // Gain 18, 400 ms: 72 times as many counts per lux as gain 1, 100 ms.
        expect(ltr390Lux(7200, GAIN_18, RES_20BIT)).toBeCloseTo(60, 9)
    })
    it("UVI = count / 2300 at gain 18, 20-bit; the sensitivity scales with gain and time", () => {
        expect(ltr390Uvi(2300, GAIN_18, RES_20BIT)).toBeCloseTo(1, 12)
        // Gain 18, 18-bit (100 ms): 575 counts per UVI.
        expect(ltr390Uvi(575, GAIN_18, RES_18BIT)).toBeCloseTo(1, 12)
        // Gain 3, 18-bit: 95.83 counts per UVI (the Linux ltr390 driver's 96).
        expect(ltr390Uvi(2300 / 24, GAIN_3, RES_18BIT)).toBeCloseTo(1, 12)
    })
    it("refuses unknown register codes", () => {
        expect(() => ltr390Lux(1, 5, RES_18BIT)).toThrow(RangeError)
        expect(() => ltr390Uvi(1, GAIN_18, 6)).toThrow(RangeError)
    })
    it("the inverses round-trip to within half a count and saturate at full scale", () => {
        for (const lux of [0, 0.6, 321.4, 5000, 100000]) {
            const c = ltr390LuxCount(lux, GAIN_1, RES_18BIT)
            expect(Math.abs(ltr390Lux(c, GAIN_1, RES_18BIT) - lux)).toBeLessThanOrEqual(0.3)
        }
        for (const uvi of [0, 0.01, 3.27, 11, 30]) {
            const c = ltr390UviCount(uvi, GAIN_18, RES_18BIT)
            expect(Math.abs(ltr390Uvi(c, GAIN_18, RES_18BIT) - uvi)).toBeLessThanOrEqual(0.5 / 575)
        }
        expect(ltr390LuxCount(1e6, GAIN_1, RES_18BIT)).toBe(262143)
        expect(ltr390LuxCount(-5, GAIN_1, RES_18BIT)).toBe(0)
    })
})
