/**
 * The Bosch BME680's calibration parameters, field data and compensation, as pure functions
 * (no I/O, no `@devicescript/*` import), so Node tests check them against the integer
 * formulas of Bosch's BME68x Sensor API. The driver is src/sensing/chips/bme680.ts.
 *
 * Source: the BME680 datasheet (BST-BME680-DS001): its floating-point compensation formulas
 * for temperature, pressure, humidity, gas resistance and the heater's target resistance, its
 * memory map (field data, status bits) and its table of where each calibration parameter lies.
 * DeviceScript numbers are doubles, so the floating-point variants are used; the integer
 * variants (Bosch's BME68x Sensor API) agree to within their rounding (test/node/lib).
 *
 * The inverse functions at the end (physical value to raw ADC value) are derived here from
 * the same formulas; they serve the fake part of the device tests and the round-trip tests,
 * and the firmware does not use them.
 */
import { FrameError } from "./sensirion"

/** Calibration area 1: par_t2 .. par_p10, 23 bytes from 0x8A. */
export const BME680_COEFF1_REGISTER = 0x8a
export const BME680_COEFF1_LENGTH = 23
/** Calibration area 2: par_h2 .. par_g3, 14 bytes from 0xE1. */
export const BME680_COEFF2_REGISTER = 0xe1
export const BME680_COEFF2_LENGTH = 14
/** Heater calibration: res_heat_val (0x00), res_heat_range (0x02), range_switching_error (0x04). */
export const BME680_COEFF3_REGISTER = 0x00
export const BME680_COEFF3_LENGTH = 5

/** Field data: meas_status_0 (0x1D) through gas_r_lsb (0x2B). */
export const BME680_FIELD_REGISTER = 0x1d
export const BME680_FIELD_LENGTH = 15

/** meas_status_0 (0x1D) bits. */
export const BME680_NEW_DATA = 0x80
export const BME680_GAS_MEASURING = 0x40
export const BME680_MEASURING = 0x20
/** gas_r_lsb (0x2B) bits. */
export const BME680_GAS_VALID = 0x20
export const BME680_HEAT_STAB = 0x10

/** What the ADCs hold for a measurement that was skipped (oversampling 0). */
export const BME680_SKIPPED_20BIT = 0x80000
export const BME680_SKIPPED_16BIT = 0x8000

/** The part's trimming, read once from its NVM at set-up (names as in the datasheet). */
export interface Bme680Calibration {
    t1: number
    t2: number
    t3: number
    p1: number
    p2: number
    p3: number
    p4: number
    p5: number
    p6: number
    p7: number
    p8: number
    p9: number
    p10: number
    h1: number
    h2: number
    h3: number
    h4: number
    h5: number
    h6: number
    h7: number
    g1: number
    g2: number
    g3: number
    resHeatRange: number
    resHeatVal: number
    rangeSwitchingError: number
}

function u16le(b: Buffer, at: number): number {
    return b[at] + b[at + 1] * 256
}

function s16le(b: Buffer, at: number): number {
    const v = u16le(b, at)
    return v > 32767 ? v - 65536 : v
}

function s8(v: number): number {
    return v > 127 ? v - 256 : v
}

/**
 * The calibration parameters from the three NVM areas (datasheet calibration table). Throws a
 * FrameError when an area has the wrong length or reads all 0x00 or all 0xFF (a part that
 * did not answer with its NVM).
 */
export function parseBme680Calibration(area1: Buffer, area2: Buffer, area3: Buffer): Bme680Calibration {
    if (area1.length !== BME680_COEFF1_LENGTH || area2.length !== BME680_COEFF2_LENGTH || area3.length !== BME680_COEFF3_LENGTH)
        throw new FrameError("calibration areas of " + area1.length + ", " + area2.length + ", " + area3.length + " bytes")
    if (uniform(area1) || uniform(area2)) throw new FrameError("calibration reads blank")
    // area1[i] is register 0x8A + i, area2[i] is 0xE1 + i, area3[i] is 0x00 + i.
    return {
        t1: u16le(area2, 0xe9 - 0xe1),
        t2: s16le(area1, 0x8a - 0x8a),
        t3: s8(area1[0x8c - 0x8a]),
        p1: u16le(area1, 0x8e - 0x8a),
        p2: s16le(area1, 0x90 - 0x8a),
        p3: s8(area1[0x92 - 0x8a]),
        p4: s16le(area1, 0x94 - 0x8a),
        p5: s16le(area1, 0x96 - 0x8a),
        p6: s8(area1[0x99 - 0x8a]),
        p7: s8(area1[0x98 - 0x8a]),
        p8: s16le(area1, 0x9c - 0x8a),
        p9: s16le(area1, 0x9e - 0x8a),
        p10: area1[0xa0 - 0x8a],
        // par_h1 = 0xE3 << 4 | 0xE2 bits 3..0; par_h2 = 0xE1 << 4 | 0xE2 bits 7..4.
        h1: area2[0xe3 - 0xe1] * 16 + (area2[0xe2 - 0xe1] & 0x0f),
        h2: area2[0xe1 - 0xe1] * 16 + (area2[0xe2 - 0xe1] >> 4),
        h3: s8(area2[0xe4 - 0xe1]),
        h4: s8(area2[0xe5 - 0xe1]),
        h5: s8(area2[0xe6 - 0xe1]),
        h6: area2[0xe7 - 0xe1],
        h7: s8(area2[0xe8 - 0xe1]),
        g1: s8(area2[0xed - 0xe1]),
        g2: s16le(area2, 0xeb - 0xe1),
        g3: s8(area2[0xee - 0xe1]),
        resHeatRange: (area3[0x02] & 0x30) >> 4,
        resHeatVal: s8(area3[0x00]),
        // A signed 4-bit value in bits 7..4.
        rangeSwitchingError: s8(area3[0x04] & 0xf0) / 16,
    }
}

function uniform(b: Buffer): boolean {
    for (let i = 1; i < b.length; i++) if (b[i] !== b[0]) return false
    return b[0] === 0 || b[0] === 0xff
}

/** The raw values of one forced-mode measurement (datasheet memory map, field data). */
export interface Bme680Fields {
    status: number
    /** Heater profile the gas data belongs to (meas_status_0 bits 3..0). */
    gasMeasIndex: number
    newData: boolean
    /** 20-bit pressure, temperature and 16-bit humidity ADC values. */
    pressureAdc: number
    temperatureAdc: number
    humidityAdc: number
    /** 10-bit gas ADC value and its range. */
    gasAdc: number
    gasRange: number
    gasValid: boolean
    heatStable: boolean
}

/** Splits the field-data block read from 0x1D (BME680_FIELD_LENGTH bytes). */
export function decodeBme680Fields(frame: Buffer): Bme680Fields {
    if (frame.length !== BME680_FIELD_LENGTH)
        throw new FrameError("field data of " + frame.length + " bytes, expected " + BME680_FIELD_LENGTH)
    // frame[i] is register 0x1D + i. The 20-bit values are msb << 12 | lsb << 4 | xlsb >> 4.
    const status = frame[0]
    const gasLsb = frame[0x2b - 0x1d]
    return {
        status,
        gasMeasIndex: status & 0x0f,
        newData: (status & BME680_NEW_DATA) !== 0,
        pressureAdc: frame[0x1f - 0x1d] * 4096 + frame[0x20 - 0x1d] * 16 + (frame[0x21 - 0x1d] >> 4),
        temperatureAdc: frame[0x22 - 0x1d] * 4096 + frame[0x23 - 0x1d] * 16 + (frame[0x24 - 0x1d] >> 4),
        humidityAdc: frame[0x25 - 0x1d] * 256 + frame[0x26 - 0x1d],
        gasAdc: frame[0x2a - 0x1d] * 4 + (gasLsb >> 6),
        gasRange: gasLsb & 0x0f,
        gasValid: (gasLsb & BME680_GAS_VALID) !== 0,
        heatStable: (gasLsb & BME680_HEAT_STAB) !== 0,
    }
}

/** t_fine: the temperature in units of 1/5120 degC, which the others use. */
export function bme680TFine(cal: Bme680Calibration, temperatureAdc: number): number {
    const var1 = (temperatureAdc / 16384 - cal.t1 / 1024) * cal.t2
    const d = temperatureAdc / 131072 - cal.t1 / 8192
    const var2 = d * d * (cal.t3 * 16)
    return var1 + var2
}

/** Temperature in degC from t_fine. */
export function bme680Temperature(tFine: number): number {
    return tFine / 5120
}

/** The terms of the pressure formula that depend on temperature only. */
function pressureTerms(cal: Bme680Calibration, tFine: number): number[] {
    let var1 = tFine / 2 - 64000
    let var2 = var1 * var1 * (cal.p6 / 131072)
    var2 = var2 + var1 * cal.p5 * 2
    var2 = var2 / 4 + cal.p4 * 65536
    var1 = ((cal.p3 * var1 * var1) / 16384 + cal.p2 * var1) / 524288
    var1 = (1 + var1 / 32768) * cal.p1
    return [var1, var2]
}

/** The pressure formula's final, non-linear correction of the linear estimate p (Pa). */
function pressureCorrection(cal: Bme680Calibration, p: number): number {
    const var1 = (cal.p9 * p * p) / 2147483648
    const var2 = p * (cal.p8 / 32768)
    const p256 = p / 256
    const var3 = p256 * p256 * p256 * (cal.p10 / 131072)
    return p + (var1 + var2 + var3 + cal.p7 * 128) / 16
}

/** Pressure in Pa. */
export function bme680Pressure(cal: Bme680Calibration, tFine: number, pressureAdc: number): number {
    const terms = pressureTerms(cal, tFine)
    const linear = ((1048576 - pressureAdc - terms[1] / 4096) * 6250) / terms[0]
    return pressureCorrection(cal, linear)
}

/** The humidity formula's sensitivity term, which depends on temperature only. */
function humiditySlope(cal: Bme680Calibration, temperature: number): number {
    return (cal.h2 / 262144) * (1 + (cal.h4 / 16384) * temperature + (cal.h5 / 1048576) * temperature * temperature)
}

function humidityCurvature(cal: Bme680Calibration, temperature: number): number {
    return cal.h6 / 16384 + (cal.h7 / 2097152) * temperature
}

/** Relative humidity in %RH, limited to 0..100 as Bosch's API does. */
export function bme680Humidity(cal: Bme680Calibration, temperature: number, humidityAdc: number): number {
    const var1 = humidityAdc - (cal.h1 * 16 + (cal.h3 / 2) * temperature)
    const var2 = var1 * humiditySlope(cal, temperature)
    const rh = var2 + humidityCurvature(cal, temperature) * var2 * var2
    return rh < 0 ? 0 : rh > 100 ? 100 : rh
}

/** const_array1 and const_array2 of the datasheet's gas resistance formula, per gas range. */
const GAS_RANGE_K1 = [1, 1, 1, 1, 1, 0.99, 1, 0.992, 1, 1, 0.998, 0.995, 1, 0.99, 1, 1]
const GAS_RANGE_K2 = [
    8000000, 4000000, 2000000, 1000000, 499500.4995, 248262.1648, 125000, 63004.03226, 31281.28128, 15625, 7812.5, 3906.25, 1953.125,
    976.5625, 488.28125, 244.140625,
]

function gasScale(cal: Bme680Calibration, gasRange: number): number {
    return (1340 + 5 * cal.rangeSwitchingError) * GAS_RANGE_K1[gasRange]
}

/** Gas resistance in Ohm. */
export function bme680GasResistance(cal: Bme680Calibration, gasAdc: number, gasRange: number): number {
    const var1 = gasScale(cal, gasRange)
    return (var1 * GAS_RANGE_K2[gasRange]) / (gasAdc - 512 + var1)
}

/**
 * res_heat_x for a heater target of `targetC` at ambient `ambientC`, the
 * value the part regulates its heater plate's resistance to.
 */
export function bme680HeaterResistance(cal: Bme680Calibration, targetC: number, ambientC: number): number {
    const var1 = cal.g1 / 16 + 49
    const var2 = (cal.g2 / 32768) * 0.0005 + 0.00235
    const var3 = cal.g3 / 1024
    const var4 = var1 * (1 + var2 * targetC)
    const var5 = var4 + var3 * ambientC
    const res = Math.floor(3.4 * (var5 * (4 / (4 + cal.resHeatRange)) * (1 / (1 + cal.resHeatVal * 0.002)) - 25))
    return res < 0 ? 0 : res > 255 ? 255 : res
}

/**
 * gas_wait_x for a heating time of `ms`: bits 5..0 a count of 1 to 63,
 * bits 7..6 its factor 1, 4, 16 or 64; 0xFF for 4032 ms and more.
 */
export function bme680GasWait(ms: number): number {
    let count = Math.floor(ms)
    if (count < 0) throw new RangeError("heating time " + ms + " ms")
    if (count >= 4032) return 0xff
    let factor = 0
    while (count > 63) {
        count = Math.floor(count / 4)
        factor++
    }
    return factor * 64 + count
}

/** The heating time a gas_wait_x byte stands for, in ms. */
export function bme680GasWaitMs(code: number): number {
    const factors = [1, 4, 16, 64]
    return (code & 0x3f) * factors[code >> 6]
}

/** Oversampling code (osrs_x: 0 skipped, 1..5 for x1..x16) to conversion cycles. */
const OVERSAMPLING_CYCLES = [0, 1, 2, 4, 8, 16]

/**
 * Time of the temperature, pressure and humidity conversions of a forced measurement in ms,
 * before the heater's time: 1.963 ms per conversion cycle, the switching and gas-conversion
 * times, and 1 ms to wake (the timing of Bosch's BME68x API, bme68x_get_meas_dur).
 */
export function bme680MeasureMs(osrsT: number, osrsP: number, osrsH: number): number {
    const cycles = OVERSAMPLING_CYCLES[osrsT] + OVERSAMPLING_CYCLES[osrsP] + OVERSAMPLING_CYCLES[osrsH]
    const us = cycles * 1963 + 477 * 4 + 477 * 5 + 1000
    return Math.ceil(us / 1000)
}

/**
 * A forced measurement's values in the sensor kind's channel order: temperature (degC),
 * humidity (%RH), pressure (hPa), gas resistance (Ohm).
 *
 * Throws a FrameError for a block that is not the measurement asked for: no new data, data
 * of another heater profile than `profile`, or a temperature, pressure or humidity value the
 * part marks as skipped. The gas value is NaN (recorded missing, on the gas channel alone)
 * when the part says the gas conversion is not valid or the heater did not reach its target
 * temperature in the heating time (gas_valid_r / heat_stab_r clear): the gas resistance is
 * then not the one at the set temperature, while the other three do not depend on the heater.
 */
export function bme680Reading(cal: Bme680Calibration, fields: Bme680Fields, profile: number): number[] {
    if (!fields.newData) throw new FrameError("no new data (status " + fields.status + ")")
    if (fields.gasMeasIndex !== profile) throw new FrameError("data of heater profile " + fields.gasMeasIndex + ", triggered " + profile)
    if (
        fields.temperatureAdc === BME680_SKIPPED_20BIT ||
        fields.pressureAdc === BME680_SKIPPED_20BIT ||
        fields.humidityAdc === BME680_SKIPPED_16BIT
    )
        throw new FrameError("measurement skipped (oversampling not set)")
    const tFine = bme680TFine(cal, fields.temperatureAdc)
    const temperature = bme680Temperature(tFine)
    const gas = fields.gasValid && fields.heatStable ? bme680GasResistance(cal, fields.gasAdc, fields.gasRange) : NaN
    return [temperature, bme680Humidity(cal, temperature, fields.humidityAdc), bme680Pressure(cal, tFine, fields.pressureAdc) / 100, gas]
}

// Inverses, for the fake part and the tests.

/** The 20-bit temperature ADC value that compensates to `temperature` (degC), unrounded. */
export function bme680TemperatureAdc(cal: Bme680Calibration, temperature: number): number {
    // t_fine = t2 * x + (t3 / 4) * x^2 with x = adc / 16384 - t1 / 1024: the root near
    // t_fine / t2, in the form that stays exact when t3 is 0.
    const tFine = temperature * 5120
    const a = cal.t3 / 4
    const x = (2 * tFine) / (cal.t2 + Math.sqrt(cal.t2 * cal.t2 + 4 * a * tFine))
    return (x + cal.t1 / 1024) * 16384
}

/** The 20-bit pressure ADC value that compensates to `pascal` at t_fine, unrounded. */
export function bme680PressureAdc(cal: Bme680Calibration, tFine: number, pascal: number): number {
    // The final correction is monotonic and close to the identity: Newton's method.
    let p = pascal
    for (let i = 0; i < 8; i++) {
        const slope = 1 + ((2 * cal.p9 * p) / 2147483648 + cal.p8 / 32768 + (3 * p * p * cal.p10) / (16777216 * 131072)) / 16
        p = p - (pressureCorrection(cal, p) - pascal) / slope
    }
    const terms = pressureTerms(cal, tFine)
    return 1048576 - ((p * terms[0]) / 6250 + terms[1] / 4096)
}

/** The 16-bit humidity ADC value that compensates to `rh` (%RH) at `temperature`, unrounded. */
export function bme680HumidityAdc(cal: Bme680Calibration, temperature: number, rh: number): number {
    // rh = v + c * v^2 with v = var2: the root near rh.
    const c = humidityCurvature(cal, temperature)
    const v = (2 * rh) / (1 + Math.sqrt(1 + 4 * c * rh))
    return v / humiditySlope(cal, temperature) + cal.h1 * 16 + (cal.h3 / 2) * temperature
}

/**
 * The gas ADC value (unrounded) and range for `ohm`: of the ranges where the value fits the
 * 10-bit ADC, the one with the largest (finest) value, as the part's auto-ranging would pick.
 */
export function bme680GasAdc(cal: Bme680Calibration, ohm: number): number[] {
    for (let range = 0; range < 16; range++) {
        const var1 = gasScale(cal, range)
        const adc = (var1 * GAS_RANGE_K2[range]) / ohm - var1 + 512
        if (adc <= 1023) return [adc < 0 ? 0 : adc, range]
    }
    return [1023, 15]
}
