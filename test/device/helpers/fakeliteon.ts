/**
 * A fake LITEON LTR-390UV-01 for the fake I2C bus: a register file that follows the datasheet
 * (DS86-2015-0004). Writes are a register then values (auto-incrementing), a read starts at
 * the register last addressed. Power-on and the software reset (MAIN_CTRL bit 4) restore the
 * defaults: standby, MEAS_RATE 0x22 (18 bits, 100 ms), GAIN 0x01 (x3), the power-on bit in
 * MAIN_STATUS (cleared by reading MAIN_STATUS).
 *
 * Enabling the part (MAIN_CTRL bit 1) in ALS or UVS mode (bit 3) starts conversions at the
 * gain and resolution then set: the first ends one integration time later, then one every
 * measurement period. Each sets the data status (MAIN_STATUS bit 3, cleared when the data are
 * read) and puts its count, from the scripted physical values and the datasheet's formulas
 * inverted, in ALS_DATA or UVS_DATA; a count saturates at the resolution's full scale. A new
 * set of scripted values [UVI, lux] is taken when a mode is enabled whose reading of the
 * current set has been made, so one ALS and one UVS conversion see the same light.
 *
 * There is no CRC: a corrupted reply here has the data's bit 18 flipped, a count the part
 * cannot give at 18-bit resolution, which the driver can see. (A flip in the count's low bits
 * could not be seen.)
 */
import * as ds from "@devicescript/core"
import { ltr390LuxCount, ltr390UviCount } from "../../../src/lib/sensors/ltr390calc"
import { FakeConditions, FakeI2CPart } from "./fakei2c"

const MAIN_CTRL = 0x00
const MEAS_RATE = 0x04
const GAIN = 0x05
const PART_ID = 0x06
const MAIN_STATUS = 0x07
const ALS_DATA = 0x0d
const UVS_DATA = 0x10
const STATUS_POWER_ON = 0x20
const STATUS_DATA = 0x08
const INTEGRATION_MS = [400, 200, 100, 50, 25, 12.5, 400, 400]
const RATE_MS = [25, 50, 100, 200, 500, 1000, 2000, 2000]

export class FakeLtr390 implements FakeI2CPart {
    /** PART_ID register: part number 0xB, revision 2. */
    partId = 0xb2
    /** Conversions whose new data were read, per mode. */
    alsConversions = 0
    uvsConversions = 0
    private regs = Buffer.alloc(0x28)
    private pointer = 0
    private enabledAt = -1
    private uvsMode = false
    private gainCode = 0
    private resolutionCode = 0
    private periodMs = 100
    private conversions = 0
    private scene: number[] | undefined
    private sceneAls = false
    private sceneUvs = false

    constructor(readonly conditions: FakeConditions) {
        this.powerCycle()
    }

    powerCycle() {
        this.regs = Buffer.alloc(this.regs.length)
        this.regs[MEAS_RATE] = 0x22
        this.regs[GAIN] = 0x01
        this.regs[MAIN_STATUS] = STATUS_POWER_ON
        this.pointer = 0
        this.enabledAt = -1
        this.conversions = 0
    }

    /** True while the part converts (not in standby). */
    active(): boolean {
        return this.enabledAt >= 0
    }

    transfer(write: Buffer, readLength: number): Buffer {
        this.update()
        if (write.length > 0) this.pointer = write[0]
        for (let i = 1; i < write.length; i++) this.writeRegister(this.pointer + i - 1, write[i])
        if (readLength === 0) return Buffer.alloc(0)
        const start = this.pointer
        this.regs[PART_ID] = this.partId
        const out = Buffer.alloc(readLength)
        for (let i = 0; i < readLength; i++) out[i] = start + i < this.regs.length ? this.regs[start + i] : 0
        if (start <= MAIN_STATUS && start + readLength > MAIN_STATUS) this.regs[MAIN_STATUS] &= ~STATUS_POWER_ON
        const data = this.uvsMode ? UVS_DATA : ALS_DATA
        if (start <= data && start + readLength > data) {
            if (this.regs[MAIN_STATUS] & STATUS_DATA) {
                if (this.uvsMode) this.uvsConversions++
                else this.alsConversions++
            }
            this.regs[MAIN_STATUS] &= ~STATUS_DATA
        }
        if ((start === ALS_DATA || start === UVS_DATA) && readLength > 1)
            return this.conditions.deliver(out, reply => {
                reply[2] ^= 0x04
            })
        return out
    }

    private writeRegister(address: number, value: number) {
        if (address === MAIN_CTRL) {
            if (value & 0x10) {
                this.powerCycle()
                return
            }
            this.regs[MAIN_CTRL] = value & 0x0a
            if (value & 0x02) this.enable((value & 0x08) !== 0)
            else this.enabledAt = -1
        } else if (address === MEAS_RATE) this.regs[MEAS_RATE] = value & 0x77
        else if (address === GAIN) this.regs[GAIN] = value & 0x07
        // PART_ID, MAIN_STATUS and the data registers are read-only; the rest is not modelled.
    }

    private enable(uvsMode: boolean) {
        this.uvsMode = uvsMode
        this.gainCode = this.regs[GAIN] > 4 ? 4 : this.regs[GAIN]
        this.resolutionCode = this.regs[MEAS_RATE] >> 4
        const integration = INTEGRATION_MS[this.resolutionCode]
        const rate = RATE_MS[this.regs[MEAS_RATE] & 0x07]
        this.periodMs = rate > integration ? rate : integration
        this.enabledAt = ds.millis()
        this.conversions = 0
        if (!this.scene || (uvsMode ? this.sceneUvs : this.sceneAls)) {
            this.scene = this.conditions.next()
            this.sceneAls = false
            this.sceneUvs = false
        }
        if (uvsMode) this.sceneUvs = true
        else this.sceneAls = true
    }

    /** Completes the conversions due by now. */
    private update() {
        if (this.enabledAt < 0) return
        const elapsed = ds.millis() - this.enabledAt - INTEGRATION_MS[this.resolutionCode]
        if (elapsed < 0) return
        const due = 1 + Math.floor(elapsed / this.periodMs)
        if (due <= this.conversions) return
        this.conversions = due
        const count = this.uvsMode
            ? ltr390UviCount(this.scene[0], this.gainCode, this.resolutionCode)
            : ltr390LuxCount(this.scene[1], this.gainCode, this.resolutionCode)
        const at = this.uvsMode ? UVS_DATA : ALS_DATA
        this.regs[at] = count & 0xff
        this.regs[at + 1] = (count >> 8) & 0xff
        this.regs[at + 2] = count >> 16
        this.regs[MAIN_STATUS] |= STATUS_DATA
    }
}
