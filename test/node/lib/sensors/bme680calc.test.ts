import { describe, expect, it } from "vitest"
import {
    Bme680Calibration,
    bme680GasAdc,
    bme680GasResistance,
    bme680GasWait,
    bme680GasWaitMs,
    bme680HeaterResistance,
    bme680Humidity,
    bme680HumidityAdc,
    bme680MeasureMs,
    bme680Pressure,
    bme680PressureAdc,
    bme680Reading,
    bme680Temperature,
    bme680TemperatureAdc,
    bme680TFine,
    BME680_FIELD_LENGTH,
    decodeBme680Fields,
    parseBme680Calibration,
} from "../../../../src/lib/sensors/bme680calc"
import { FrameError } from "../../../../src/lib/sensors/sensirion"
import { FAKE_BME680_CALIBRATION, setBme680Adc } from "../../../fixtures/bme680"

const CAL: Bme680Calibration = FAKE_BME680_CALIBRATION

/** The NVM areas holding `cal`, written from the datasheet's calibration table (independently of the parser). */
function areas(cal: Bme680Calibration): Buffer[] {
    const a1 = Buffer.alloc(23)
    const a2 = Buffer.alloc(14)
    const a3 = Buffer.alloc(5)
    const at1 = (reg: number) => reg - 0x8a
    const at2 = (reg: number) => reg - 0xe1
    a1.writeInt16LE(cal.t2, at1(0x8a))
    a1.writeInt8(cal.t3, at1(0x8c))
    a1.writeUInt16LE(cal.p1, at1(0x8e))
    a1.writeInt16LE(cal.p2, at1(0x90))
    a1.writeInt8(cal.p3, at1(0x92))
    a1.writeInt16LE(cal.p4, at1(0x94))
    a1.writeInt16LE(cal.p5, at1(0x96))
    a1.writeInt8(cal.p7, at1(0x98))
    a1.writeInt8(cal.p6, at1(0x99))
    a1.writeInt16LE(cal.p8, at1(0x9c))
    a1.writeInt16LE(cal.p9, at1(0x9e))
    a1.writeUInt8(cal.p10, at1(0xa0))
    a2[at2(0xe1)] = cal.h2 >> 4
    a2[at2(0xe2)] = ((cal.h2 & 0x0f) << 4) | (cal.h1 & 0x0f)
    a2[at2(0xe3)] = cal.h1 >> 4
    a2.writeInt8(cal.h3, at2(0xe4))
    a2.writeInt8(cal.h4, at2(0xe5))
    a2.writeInt8(cal.h5, at2(0xe6))
    a2.writeUInt8(cal.h6, at2(0xe7))
    a2.writeInt8(cal.h7, at2(0xe8))
    a2.writeUInt16LE(cal.t1, at2(0xe9))
    a2.writeInt16LE(cal.g2, at2(0xeb))
    a2.writeInt8(cal.g1, at2(0xed))
    a2.writeInt8(cal.g3, at2(0xee))
    a3.writeInt8(cal.resHeatVal, 0)
    a3[2] = 0xc5 | (cal.resHeatRange << 4) // other bits of 0x02 are not the range's
    a3[4] = ((cal.rangeSwitchingError & 0x0f) << 4) | 0x0a
    return [a1, a2, a3]
}

describe("BME680 calibration", () => {
    it("reads every parameter from its register (datasheet calibration table), signed where it is signed", () => {
        const [a1, a2, a3] = areas(CAL)
        expect(parseBme680Calibration(a1, a2, a3)).toEqual(CAL)
    })
    it("splits the nibbles of 0xE2 between par_h1 (low) and par_h2 (high)", () => {
        const cal = { ...CAL, h1: 0xabc, h2: 0x123 }
        const [a1, a2, a3] = areas(cal)
        expect(a2.subarray(0, 3).toString("hex")).toBe("123cab")
        const parsed = parseBme680Calibration(a1, a2, a3)
        expect(parsed.h1).toBe(0xabc)
        expect(parsed.h2).toBe(0x123)
    })
    it("takes range_switching_error as a signed 4-bit value", () => {
        for (const e of [-8, -1, 0, 7]) {
            const [a1, a2, a3] = areas({ ...CAL, rangeSwitchingError: e })
            expect(parseBme680Calibration(a1, a2, a3).rangeSwitchingError).toBe(e)
        }
    })
    it("refuses blank areas and wrong lengths", () => {
        const [a1, a2, a3] = areas(CAL)
        expect(() => parseBme680Calibration(Buffer.alloc(23, 0xff), a2, a3)).toThrow(/blank/)
        expect(() => parseBme680Calibration(a1, Buffer.alloc(14), a3)).toThrow(FrameError)
        expect(() => parseBme680Calibration(a1.subarray(1), a2, a3)).toThrow(/22, 14, 5 bytes/)
    })
})

// Bosch's integer compensation (BME68x Sensor API, bme68x.c, without BME68X_USE_FPU), written
// independently of the floating-point code under test: int32 arithmetic with C's truncating
// division, int64 (BigInt) for the gas resistance.
const idiv = (a: number, b: number) => Math.trunc(a / b)

function intTemperature(cal: Bme680Calibration, adc: number) {
    const var1 = (adc >> 3) - (cal.t1 << 1)
    const var2 = (var1 * cal.t2) >> 11
    let var3 = ((var1 >> 1) * (var1 >> 1)) >> 12
    var3 = (var3 * (cal.t3 << 4)) >> 14
    const tFine = var2 + var3
    return { tFine, centi: (tFine * 5 + 128) >> 8 }
}

function intPressure(cal: Bme680Calibration, tFine: number, adc: number): number {
    let var1 = (tFine >> 1) - 64000
    let var2 = ((((var1 >> 2) * (var1 >> 2)) >> 11) * cal.p6) >> 2
    var2 = var2 + ((var1 * cal.p5) << 1)
    var2 = (var2 >> 2) + (cal.p4 << 16)
    var1 = (((((var1 >> 2) * (var1 >> 2)) >> 13) * (cal.p3 << 5)) >> 3) + ((cal.p2 * var1) >> 1)
    var1 = var1 >> 18
    var1 = ((32768 + var1) * cal.p1) >> 15
    let p = 1048576 - adc
    p = (p - (var2 >> 12)) * 3125
    p = p >= 1 << 30 ? idiv(p, var1) << 1 : idiv(p << 1, var1)
    var1 = (cal.p9 * (((p >> 3) * (p >> 3)) >> 13)) >> 12
    var2 = ((p >> 2) * cal.p8) >> 13
    // In C this product is an int32 that nears 2^31 at 1100 hPa; JS's >> would wrap it at 2^31.
    const var3 = Math.floor(((p >> 8) * (p >> 8) * (p >> 8) * cal.p10) / 131072)
    return p + ((var1 + var2 + var3 + (cal.p7 << 7)) >> 4)
}

function intHumidity(cal: Bme680Calibration, tFine: number, adc: number): number {
    const ts = (tFine * 5 + 128) >> 8
    const var1 = adc - cal.h1 * 16 - (idiv(ts * cal.h3, 100) >> 1)
    const var2 = (cal.h2 * (idiv(ts * cal.h4, 100) + idiv((ts * idiv(ts * cal.h5, 100)) >> 6, 100) + (1 << 14))) >> 10
    const var3 = var1 * var2
    let var4 = cal.h6 << 7
    var4 = (var4 + idiv(ts * cal.h7, 100)) >> 4
    const var5 = ((var3 >> 14) * (var3 >> 14)) >> 10
    const var6 = (var4 * var5) >> 1
    const h = (((var3 + var6) >> 10) * 1000) >> 12
    return h > 100000 ? 100000 : h < 0 ? 0 : h
}

const LOOKUP1 = [
    2147483647, 2147483647, 2147483647, 2147483647, 2147483647, 2126008810, 2147483647, 2130303777, 2147483647, 2147483647, 2143188679,
    2136746228, 2147483647, 2126008810, 2147483647, 2147483647,
]
const LOOKUP2 = [
    4096000000, 2048000000, 1024000000, 512000000, 255744255, 127110228, 64000000, 32258064, 16016016, 8000000, 4000000, 2000000, 1000000,
    500000, 250000, 125000,
]

function intGas(cal: Bme680Calibration, adc: number, range: number): number {
    const var1 = (BigInt(1340 + 5 * cal.rangeSwitchingError) * BigInt(LOOKUP1[range])) >> 16n
    const var2 = (BigInt(adc) << 15n) - 16777216n + var1
    const var3 = (BigInt(LOOKUP2[range]) * var1) >> 9n
    return Number((var3 + (var2 >> 1n)) / var2)
}

function intHeater(cal: Bme680Calibration, target: number, ambient: number): number {
    const var1 = idiv(ambient * cal.g3, 1000) * 256
    const var2 = (cal.g1 + 784) * idiv(idiv((cal.g2 + 154009) * target * 5, 100) + 3276800, 10)
    const var3 = var1 + idiv(var2, 2)
    const var4 = idiv(var3, cal.resHeatRange + 4)
    const var5 = 131 * cal.resHeatVal + 65536
    const x100 = (idiv(var4, var5) - 250) * 34
    return idiv(x100 + 50, 100)
}

describe("BME680 compensation (the datasheet's floating-point formulas)", () => {
    it("temperature: the same polynomial as the BMP280 datasheet's worked example (adc 519888 gives 25.08 degC)", () => {
        // The BMP280 datasheet's example: dig_T1 27504, dig_T2 26435, dig_T3 -1000; the
        // BME680's second-order term is par_t3 * 16 where the BMP280's is dig_T3.
        const bmp = { ...CAL, t1: 27504, t2: 26435, t3: -1000 / 16 }
        const tFine = bme680TFine(bmp, 519888)
        expect(Math.round(tFine)).toBe(128422)
        expect(bme680Temperature(tFine)).toBeCloseTo(25.08, 2)
    })

    it("agrees with Bosch's integer formulas over the operating range", () => {
        let checked = 0
        for (let adcT = 380000; adcT <= 600000; adcT += 20000) {
            const int = intTemperature(CAL, adcT)
            const tFine = bme680TFine(CAL, adcT)
            const t = bme680Temperature(tFine)
            expect(Math.abs(t * 100 - int.centi)).toBeLessThanOrEqual(1)
            expect(Math.abs(tFine - int.tFine)).toBeLessThanOrEqual(2)
            for (let adcP = 250000; adcP <= 650000; adcP += 25000) {
                const p = bme680Pressure(CAL, tFine, adcP)
                if (p < 30000 || p > 110000) continue
                checked++
                // The integer variant truncates its divisor (~36,000, so up to 3 Pa at 100 kPa) and
                // halves before it divides (steps of 2 Pa): within 0.08 hPa.
                expect(Math.abs(p - intPressure(CAL, int.tFine, adcP))).toBeLessThan(8)
            }
            for (let adcH = 14000; adcH <= 38000; adcH += 4000) {
                const h = bme680Humidity(CAL, t, adcH)
                // In 1/1000 %RH; the integer variant truncates its curvature term to 1/16 (var4 >> 4).
                expect(Math.abs(h * 1000 - intHumidity(CAL, int.tFine, adcH))).toBeLessThan(50)
            }
        }
        expect(checked > 50).toBe(true)
    })

    it("pressure and humidity fall as their ADC values rise, as the formulas' signs say", () => {
        const tFine = bme680TFine(CAL, 500000)
        expect(bme680Pressure(CAL, tFine, 300000) > bme680Pressure(CAL, tFine, 400000)).toBe(true)
        const t = bme680Temperature(tFine)
        expect(bme680Humidity(CAL, t, 20000) < bme680Humidity(CAL, t, 30000)).toBe(true)
    })

    it("humidity is limited to 0..100 %RH", () => {
        const t = 25
        expect(bme680Humidity(CAL, t, 0)).toBe(0)
        expect(bme680Humidity(CAL, t, 65535)).toBe(100)
    })

    it("gas resistance agrees with the integer lookup-table formula in every range", () => {
        for (let range = 0; range < 16; range++) {
            for (const adc of [0, 200, 512, 800, 1023]) {
                const r = bme680GasResistance(CAL, adc, range)
                const int = intGas(CAL, adc, range)
                // The integer result is rounded to whole Ohm.
                expect(Math.abs(r - int)).toBeLessThanOrEqual(Math.max(0.5, r * 1e-4))
            }
        }
    })

    it("heater: 320 degC gives the integer formula's res_heat (ambient 0, where the variants' ambient terms vanish)", () => {
        for (const target of [200, 250, 320, 400])
            expect(Math.abs(bme680HeaterResistance(CAL, target, 0) - intHeater(CAL, target, 0))).toBeLessThanOrEqual(1)
        const at320 = bme680HeaterResistance(CAL, 320, 25)
        expect(at320 > 80 && at320 < 160).toBe(true)
        expect(bme680HeaterResistance(CAL, 320, 40) >= at320).toBe(true)
    })
})

describe("BME680 inverses (for the fake part) round-trip through the compensation", () => {
    it("temperature, pressure, humidity and gas", () => {
        for (const t of [-40, -10, 0, 21.5, 40, 85]) {
            const adcT = Math.round(bme680TemperatureAdc(CAL, t))
            const tFine = bme680TFine(CAL, adcT)
            expect(bme680Temperature(tFine)).toBeCloseTo(t, 3)
            for (const hPa of [300, 700, 1013.25, 1100]) {
                const adcP = Math.round(bme680PressureAdc(CAL, tFine, hPa * 100))
                expect(adcP > 0 && adcP < 1048576).toBe(true)
                expect(Math.abs(bme680Pressure(CAL, tFine, adcP) / 100 - hPa)).toBeLessThan(0.005)
            }
            const temperature = bme680Temperature(tFine)
            for (const rh of [1, 35.5, 70, 99]) {
                const adcH = Math.round(bme680HumidityAdc(CAL, temperature, rh))
                expect(Math.abs(bme680Humidity(CAL, temperature, adcH) - rh)).toBeLessThan(0.01)
            }
        }
        for (const ohm of [300, 5000, 98000, 1200000, 12000000]) {
            const [adc, range] = bme680GasAdc(CAL, ohm)
            expect(adc >= 0 && adc <= 1023).toBe(true)
            expect(Math.abs(bme680GasResistance(CAL, Math.round(adc), range) - ohm) / ohm).toBeLessThan(0.001)
        }
    })
})

describe("BME680 heater and timing registers", () => {
    it("gas_wait: 150 ms is 37 x 4 (0x65), the largest count that fits 6 bits", () => {
        expect(bme680GasWait(150)).toBe(0x65)
        expect(bme680GasWaitMs(0x65)).toBe(148)
        expect(bme680GasWait(63)).toBe(63)
        expect(bme680GasWait(64)).toBe(0x50)
        expect(bme680GasWaitMs(0x50)).toBe(64)
        expect(bme680GasWait(4032)).toBe(0xff)
        expect(bme680GasWaitMs(0xff)).toBe(4032)
        expect(() => bme680GasWait(-1)).toThrow(RangeError)
    })
    it("a forced measurement at T x2, P x4, H x2 takes 21 ms before heating", () => {
        expect(bme680MeasureMs(2, 3, 2)).toBe(21)
        expect(bme680MeasureMs(1, 1, 1)).toBe(12)
    })
})

describe("BME680 field data", () => {
    function block(o: { status?: number; p?: number; t?: number; h?: number; gas?: number; gasLsb?: number }): Buffer {
        const f = Buffer.alloc(BME680_FIELD_LENGTH)
        f[0] = o.status === undefined ? 0x80 : o.status
        const p = o.p === undefined ? 0x55555 : o.p
        const t = o.t === undefined ? 0x7a120 : o.t
        const h = o.h === undefined ? 0x5dc0 : o.h
        const gas = o.gas === undefined ? 0x2ab : o.gas
        setBme680Adc(f, p, t, h)
        f[13] = gas >> 2
        f[14] = ((gas & 3) << 6) | (o.gasLsb === undefined ? 0x30 | 0x05 : o.gasLsb)
        return f
    }
    it("unpacks the 20-bit, 16-bit and 10-bit values and the status bits", () => {
        const f = decodeBme680Fields(block({}))
        expect(f).toEqual({
            status: 0x80,
            gasMeasIndex: 0,
            newData: true,
            pressureAdc: 0x55555,
            temperatureAdc: 0x7a120,
            humidityAdc: 0x5dc0,
            gasAdc: 0x2ab,
            gasRange: 5,
            gasValid: true,
            heatStable: true,
        })
    })
    it("a reading is temperature, humidity, pressure in hPa and gas in Ohm", () => {
        const f = decodeBme680Fields(block({}))
        const v = bme680Reading(CAL, f, 0)
        const tFine = bme680TFine(CAL, 0x7a120)
        expect(v[0]).toBe(bme680Temperature(tFine))
        expect(v[1]).toBe(bme680Humidity(CAL, v[0], 0x5dc0))
        expect(v[2]).toBe(bme680Pressure(CAL, tFine, 0x55555) / 100)
        expect(v[3]).toBe(bme680GasResistance(CAL, 0x2ab, 5))
    })
    it("gas is NaN, the others kept, when the heater was not stable or the gas conversion not valid", () => {
        const unstable = bme680Reading(CAL, decodeBme680Fields(block({ gasLsb: 0x20 | 0x05 })), 0)
        expect(Number.isNaN(unstable[3])).toBe(true)
        expect(Number.isNaN(unstable[0])).toBe(false)
        const invalid = bme680Reading(CAL, decodeBme680Fields(block({ gasLsb: 0x10 | 0x05 })), 0)
        expect(Number.isNaN(invalid[3])).toBe(true)
        expect(invalid[2]).toBe(unstable[2])
    })
    it("refuses a block that is not the measurement asked for", () => {
        const bad: [string, Buffer][] = [
            ["no new data", block({ status: 0x00 })],
            ["another heater profile", block({ status: 0x81 })],
            ["skipped temperature", block({ t: 0x80000 })],
            ["skipped pressure", block({ p: 0x80000 })],
            ["skipped humidity", block({ h: 0x8000 })],
        ]
        for (const [what, frame] of bad) expect(() => bme680Reading(CAL, decodeBme680Fields(frame), 0), what).toThrow(FrameError)
        expect(() => decodeBme680Fields(Buffer.alloc(14))).toThrow(/14 bytes, expected 15/)
    })
})
