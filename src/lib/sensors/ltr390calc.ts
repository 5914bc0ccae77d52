/**
 * The LITEON LTR-390UV-01's data registers, gains, resolutions, and the conversions to lux and
 * UV index, as pure functions (no I/O, no `@devicescript/*` import) tested on Node. The driver
 * is src/sensing/chips/ltr390.ts.
 *
 * Source: LTR-390UV-01 datasheet (DS86-2015-0004): MEAS_RATE (0x04) resolution codes and
 * integration times, GAIN (0x05) codes, the 20-bit data registers (ALS_DATA 0x0D..0x0F and
 * UVS_DATA 0x10..0x12, least significant byte first, bits 7..4 of the third byte unused), and
 * its formulas:
 *
 *   lux = 0.6 * ALS_DATA / (gain * int) * W_FAC, int = integration time / 100 ms
 *   UVI = UVS_DATA / sensitivity * W_FAC, sensitivity = 2300 counts per UVI at gain 18 and
 *         20-bit resolution (400 ms), proportional to gain and integration time
 *
 * W_FAC is 1: no window in front of the sensor (a window's transmission would need its own
 * calibration factor).
 */
import { FrameError } from "./sensirion"

/** GAIN register codes 0..4: the gain factor. */
export const LTR390_GAINS = [1, 3, 6, 9, 18]
/** MEAS_RATE resolution codes 0..5 (bits 6..4): ADC bits and integration time in ms. */
export const LTR390_RESOLUTION_BITS = [20, 19, 18, 17, 16, 13]
export const LTR390_INTEGRATION_MS = [400, 200, 100, 50, 25, 12.5]

/** UV sensitivity in counts per UVI at gain 18, 20-bit resolution. */
export const LTR390_UV_COUNTS_PER_UVI = 2300

function checkCodes(gainCode: number, resolutionCode: number) {
    if (!(gainCode >= 0 && gainCode < LTR390_GAINS.length)) throw new RangeError("gain code " + gainCode)
    if (!(resolutionCode >= 0 && resolutionCode < LTR390_RESOLUTION_BITS.length)) throw new RangeError("resolution code " + resolutionCode)
}

/** Largest count at a resolution (the ADC is saturated there). */
export function ltr390FullScale(resolutionCode: number): number {
    return Math.pow(2, LTR390_RESOLUTION_BITS[resolutionCode]) - 1
}

/**
 * The count in a 3-byte data register read, checked against the resolution it was measured
 * at: a count above the resolution's full scale, or bits set in the unused high nibble, is a
 * reply the part cannot give (a bit error on the bus). There is no CRC, so a bit error within
 * the count passes unseen.
 */
export function ltr390Count(data: Buffer, resolutionCode: number): number {
    if (data.length !== 3) throw new FrameError("data of " + data.length + " bytes, expected 3")
    if ((data[2] & 0xf0) !== 0) throw new FrameError("unused data bits set (" + data[2] + ")")
    const count = data[0] + data[1] * 256 + data[2] * 65536
    if (count > ltr390FullScale(resolutionCode))
        throw new FrameError("count " + count + " beyond the " + LTR390_RESOLUTION_BITS[resolutionCode] + "-bit resolution")
    return count
}

/** Counts per lux: gain * int / 0.6. */
function countsPerLux(gainCode: number, resolutionCode: number): number {
    checkCodes(gainCode, resolutionCode)
    return (LTR390_GAINS[gainCode] * (LTR390_INTEGRATION_MS[resolutionCode] / 100)) / 0.6
}

/** Counts per UVI: 2300 scaled by gain / 18 and integration time / 400 ms. */
function countsPerUvi(gainCode: number, resolutionCode: number): number {
    checkCodes(gainCode, resolutionCode)
    return LTR390_UV_COUNTS_PER_UVI * (LTR390_GAINS[gainCode] / 18) * (LTR390_INTEGRATION_MS[resolutionCode] / 400)
}

/** Illuminance in lx for an ALS count. */
export function ltr390Lux(count: number, gainCode: number, resolutionCode: number): number {
    return count / countsPerLux(gainCode, resolutionCode)
}

/** UV index for a UVS count. */
export function ltr390Uvi(count: number, gainCode: number, resolutionCode: number): number {
    return count / countsPerUvi(gainCode, resolutionCode)
}

// Inverses, for the fake part and the tests: the count the part reports, saturating at full scale.

function countFor(value: number, perUnit: number, resolutionCode: number): number {
    const c = Math.round(value * perUnit)
    const top = ltr390FullScale(resolutionCode)
    return c < 0 ? 0 : c > top ? top : c
}

export function ltr390LuxCount(lux: number, gainCode: number, resolutionCode: number): number {
    return countFor(lux, countsPerLux(gainCode, resolutionCode), resolutionCode)
}

export function ltr390UviCount(uvi: number, gainCode: number, resolutionCode: number): number {
    return countFor(uvi, countsPerUvi(gainCode, resolutionCode), resolutionCode)
}
