/**
 * LITEON LTR-390UV-01 UV index and illuminance (datasheet DS86-2015-0004). The part measures
 * one thing at a time, ambient light (ALS) or UV (UVS), chosen by a mode bit; one sample here
 * is one conversion in each mode, and the part stands by between samples.
 *
 * Set-up: the part id at 0x06 must have 0xB in its high nibble (0xB2: part 0xB, revision 2),
 * then a software reset, checked by MAIN_CTRL reading back 0.
 *
 * Each conversion: standby, GAIN and MEAS_RATE for the mode, enable in the mode, wait one
 * integration time, poll MAIN_STATUS for new data (bit 3), read the 3 data bytes. Both modes
 * run at 18-bit resolution, 100 ms integration (measurement rate 100 ms), so a sample takes
 * about a quarter of a second:
 * - ALS at gain 1: 0.6 lx per count, full scale 157,286 lx (direct sunlight stays below);
 * - UVS at gain 18, the gain the datasheet's UV sensitivity is given for: 575 counts per UVI
 *   (2300 at 20 bits scaled to 18), 0.0017 UVI per count, full scale 456 UVI.
 * Conversions to lux and UVI: src/lib/sensors/ltr390calc.ts (datasheet formulas, no window: W_FAC 1).
 * A count at full scale is a saturated ADC: the light is at least that much, so the value is
 * Infinity, an out-of-range fault on its channel, never a low reading taken for the truth.
 */
import * as ds from "@devicescript/core"
import { I2C, I2CError } from "@devicescript/i2c"
import { ltr390Count, ltr390FullScale, ltr390Lux, ltr390Uvi } from "../../lib/sensors/ltr390calc"
import { hexAddress, SensorChip } from "./chip"
import { FrameError } from "../../lib/sensors/sensirion"

const REG_MAIN_CTRL = 0x00
const REG_MEAS_RATE = 0x04
const REG_GAIN = 0x05
const REG_PART_ID = 0x06
const REG_MAIN_STATUS = 0x07
const REG_ALS_DATA = 0x0d
const REG_UVS_DATA = 0x10
const CTRL_SW_RESET = 0x10
const CTRL_UVS_MODE = 0x08
const CTRL_ENABLE = 0x02
const STATUS_NEW_DATA = 0x08
/** MEAS_RATE resolution code 2 (18 bits, 100 ms) in bits 6..4, rate code 2 (100 ms) in 2..0. */
const RESOLUTION = 2
const MEAS_RATE = (RESOLUTION << 4) | 2
const INTEGRATION_MS = 100
/** GAIN codes: 0 is x1, 4 is x18. */
const ALS_GAIN = 0
const UVS_GAIN = 4
const RESET_MS = 10
/** Polls of MAIN_STATUS after the integration time, this far apart. */
const NOT_READY_RETRIES = 5
const NOT_READY_MS = 10

export class Ltr390Chip extends SensorChip {
    /** @param address the part's 7-bit I2C address (its sensor kind's `i2cAddress`) */
    constructor(bus: I2C, address: number) {
        super("LTR390", address, bus)
    }

    protected async initDriver(): Promise<void> {
        const id = await this.readReg(REG_PART_ID)
        if (id >> 4 !== 0xb) throw new FrameError("part id " + hexAddress(id) + " at 0x06 is not an LTR-390's (0xBx)")
        try {
            await this.writeReg(REG_MAIN_CTRL, CTRL_SW_RESET)
        } catch (e) {
            // A part may reset before it acknowledges the write: the read-back below checks.
            if (!(e instanceof I2CError)) throw e
        }
        await ds.sleep(RESET_MS)
        const ctrl = await this.readReg(REG_MAIN_CTRL)
        if (ctrl !== 0) throw new FrameError("MAIN_CTRL reads " + hexAddress(ctrl) + " after the reset")
        // Reading MAIN_STATUS clears its power-on bit.
        await this.readReg(REG_MAIN_STATUS)
    }

    async measure(): Promise<number[]> {
        const als = await this.convert(0, ALS_GAIN, REG_ALS_DATA)
        const uvs = await this.convert(CTRL_UVS_MODE, UVS_GAIN, REG_UVS_DATA)
        await this.writeReg(REG_MAIN_CTRL, 0)
        const top = ltr390FullScale(RESOLUTION)
        const uvi = uvs >= top ? Infinity : ltr390Uvi(uvs, UVS_GAIN, RESOLUTION)
        const lux = als >= top ? Infinity : ltr390Lux(als, ALS_GAIN, RESOLUTION)
        return [uvi, lux]
    }

    /** One conversion in `mode` (0 for ALS, CTRL_UVS_MODE): its count. */
    private async convert(mode: number, gain: number, dataRegister: number): Promise<number> {
        await this.writeReg(REG_MAIN_CTRL, 0)
        await this.writeReg(REG_GAIN, gain)
        await this.writeReg(REG_MEAS_RATE, MEAS_RATE)
        await this.writeReg(REG_MAIN_CTRL, CTRL_ENABLE | mode)
        await ds.sleep(INTEGRATION_MS)
        const status = (
            await this.readWhenDone(Buffer.from([REG_MAIN_STATUS]), 1, r => (r[0] & STATUS_NEW_DATA) !== 0, NOT_READY_RETRIES, NOT_READY_MS)
        )[0]
        if ((status & STATUS_NEW_DATA) === 0)
            throw new FrameError(
                "no new " + (mode ? "UVS" : "ALS") + " data after " + (INTEGRATION_MS + NOT_READY_RETRIES * NOT_READY_MS) + " ms"
            )
        return ltr390Count(await this.readRegBuf(dataRegister, 3), RESOLUTION)
    }
}
