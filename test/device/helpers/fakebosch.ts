/**
 * A fake Bosch BME680 for the fake I2C bus: a register file that follows the datasheet
 * (BST-BME680-DS001). Writes are register/value pairs, a read starts at the register last
 * addressed and auto-increments; chip id 0x61 at 0xD0, variant at 0xF0, the calibration in
 * its NVM registers (0x8A.., 0xE1.., 0x00..0x04); soft reset (0xB6 to 0xE0) and power loss
 * put the control registers back to 0 (sleep mode, every measurement skipped, no heater).
 *
 * Writing forced mode to ctrl_meas starts a measurement of the values the test scripts, with
 * the oversampling, heater profile and heating time then in the registers: the status says
 * measuring for the conversion time plus the heating time, then new_data, and the data
 * registers hold the raw values (from the inverse compensation) at the ADC resolution the
 * settings give (16 + oversampling - 1 bits with the IIR filter off), 0x80000 / 0x8000 for a
 * skipped one. heat_stab_r is set when the heater had a target and at least 20 ms, and the
 * test has not made it fail.
 *
 * The BME680 has no CRC: a corrupted reply here is a bit flipped in the status byte, in the
 * heater-profile index, which the driver can see. (A flip in a data byte could not be seen.)
 */
import * as ds from "@devicescript/core"
import {
    Bme680Calibration,
    bme680GasAdc,
    bme680HumidityAdc,
    bme680PressureAdc,
    bme680TemperatureAdc,
    bme680TFine,
} from "../../../src/lib/sensors/bme680calc"
import { FAKE_BME680_CALIBRATION, setBme680Adc } from "../../fixtures/bme680"
import { FakeConditions, FakeI2CPart, FakeNack } from "./fakei2c"

const REG_STATUS = 0x1d
const REG_CTRL_GAS_1 = 0x71
const REG_CTRL_HUM = 0x72
const REG_CTRL_MEAS = 0x74
const REG_CONFIG = 0x75
const REG_RESET = 0xe0
/** Start-up time after a soft reset or power-on, during which the part does not answer. */
const STARTUP_MS = 2
const MIN_HEATING_MS = 20

function clamp(v: number, max: number): number {
    return v < 0 ? 0 : v > max ? max : Math.round(v)
}

/** A 20-bit ADC value at `bits` of resolution: the low bits are 0. */
function atResolution(adc: number, bits: number): number {
    const step = Math.pow(2, 20 - bits)
    return Math.floor(clamp(adc, 1048575) / step) * step
}

export class FakeBme680 implements FakeI2CPart {
    chipId = 0x61
    variant = 0x00
    /** While false, the heater never reaches its target (heat_stab_r clear). */
    heaterStable = true
    /** Reads that started at the first calibration register (0x8A). */
    calibrationReads = 0
    /** Forced measurements started. */
    triggers = 0
    private regs = Buffer.alloc(256)
    private pointer = 0
    private startingUntil = -1
    private doneAt = -1
    private result: Buffer | undefined

    readonly calibration: Bme680Calibration

    constructor(
        readonly conditions: FakeConditions,
        calibration?: Bme680Calibration
    ) {
        this.calibration = calibration || FAKE_BME680_CALIBRATION
        this.powerCycle()
    }

    powerCycle() {
        this.reset()
        // Power returns when the part is plugged back in, long after its start-up time.
        this.startingUntil = -1
    }

    /** The value of a register as the bus would read it now (for tests). */
    register(address: number): number {
        this.update()
        return this.regs[address]
    }

    private reset() {
        this.regs = Buffer.alloc(this.regs.length)
        this.regs[0xd0] = this.chipId
        this.regs[0xf0] = this.variant
        this.writeNvm(this.calibration)
        this.pointer = 0
        this.doneAt = -1
        this.result = undefined
        this.startingUntil = ds.millis() + STARTUP_MS
    }

    /** The calibration parameters at their NVM registers (datasheet calibration table). */
    private writeNvm(c: Bme680Calibration) {
        const r = this.regs
        const u16 = (at: number, v: number) => {
            const u = v < 0 ? v + 65536 : v
            r[at] = u & 0xff
            r[at + 1] = u >> 8
        }
        const u8 = (at: number, v: number) => {
            r[at] = v < 0 ? v + 256 : v
        }
        u16(0x8a, c.t2)
        u8(0x8c, c.t3)
        u16(0x8e, c.p1)
        u16(0x90, c.p2)
        u8(0x92, c.p3)
        u16(0x94, c.p4)
        u16(0x96, c.p5)
        u8(0x98, c.p7)
        u8(0x99, c.p6)
        u16(0x9c, c.p8)
        u16(0x9e, c.p9)
        u8(0xa0, c.p10)
        r[0xe1] = c.h2 >> 4
        r[0xe2] = ((c.h2 & 0x0f) << 4) | (c.h1 & 0x0f)
        r[0xe3] = c.h1 >> 4
        u8(0xe4, c.h3)
        u8(0xe5, c.h4)
        u8(0xe6, c.h5)
        u8(0xe7, c.h6)
        u8(0xe8, c.h7)
        u16(0xe9, c.t1)
        u16(0xeb, c.g2)
        u8(0xed, c.g1)
        u8(0xee, c.g3)
        u8(0x00, c.resHeatVal)
        r[0x02] = (c.resHeatRange & 3) << 4
        r[0x04] = (c.rangeSwitchingError < 0 ? c.rangeSwitchingError + 16 : c.rangeSwitchingError) << 4
    }

    transfer(write: Buffer, readLength: number): Buffer {
        if (ds.millis() < this.startingUntil) throw new FakeNack("starting up")
        this.update()
        if (write.length === 1) this.pointer = write[0]
        else if (write.length > 1) {
            if (write.length % 2 !== 0) throw new FakeNack("a write of " + write.length + " bytes is not register/value pairs")
            for (let i = 0; i < write.length; i += 2) this.writeRegister(write[i], write[i + 1])
        }
        if (readLength === 0) return Buffer.alloc(0)
        const start = this.pointer
        if (start === 0x8a) this.calibrationReads++
        const out = Buffer.alloc(readLength)
        for (let i = 0; i < readLength; i++) out[i] = this.regs[(start + i) & 0xff]
        this.pointer = (start + readLength) & 0xff
        if (start === REG_STATUS && readLength > 1 && (out[0] & 0x80) !== 0)
            return this.conditions.deliver(out, reply => {
                reply[0] ^= 0x01
            })
        return out
    }

    private writeRegister(address: number, value: number) {
        if (address === REG_RESET) {
            if (value === 0xb6) this.reset()
            return
        }
        // Only the control registers (heater profiles, ctrl_gas, ctrl_hum, ctrl_meas, config) are writable.
        if (address < 0x50 || address > REG_CONFIG || address === 0x73) return
        this.regs[address] = value
        if (address === REG_CTRL_MEAS && (value & 0x03) === 0x01) this.trigger()
    }

    private trigger() {
        this.triggers++
        const osrsT = this.regs[REG_CTRL_MEAS] >> 5
        const osrsP = (this.regs[REG_CTRL_MEAS] >> 2) & 0x07
        const osrsH = this.regs[REG_CTRL_HUM] & 0x07
        const filter = (this.regs[REG_CONFIG] >> 2) & 0x07
        const runGas = (this.regs[REG_CTRL_GAS_1] & 0x10) !== 0
        const profile = this.regs[REG_CTRL_GAS_1] & 0x0f
        const heatTarget = this.regs[0x5a + profile]
        const waitCode = this.regs[0x64 + profile]
        const heatingMs = (waitCode & 0x3f) * [1, 4, 16, 64][waitCode >> 6]
        const cycles = [0, 1, 2, 4, 8, 16]
        // Conversions at 1.963 ms a cycle, switching, gas conversion and wake-up (Bosch's timing).
        const tphMs = (cycles[osrsT & 7] + cycles[osrsP & 7] + cycles[osrsH & 7]) * 1.963 + 1.908 + 2.385 + 1
        this.doneAt = ds.millis() + tphMs + (runGas ? heatingMs : 0)
        this.regs[REG_STATUS] = 0x20 | (runGas ? 0x40 : 0) | profile

        const v = this.conditions.next()
        const cal = this.calibration
        const bits = (osrs: number) => (filter > 0 ? 20 : 15 + osrs)
        const adcT = osrsT === 0 ? 0x80000 : atResolution(bme680TemperatureAdc(cal, v[0]), bits(osrsT))
        const tFine = bme680TFine(cal, adcT)
        const adcP = osrsP === 0 ? 0x80000 : atResolution(bme680PressureAdc(cal, tFine, v[2] * 100), bits(osrsP))
        const adcH = osrsH === 0 ? 0x8000 : clamp(bme680HumidityAdc(cal, tFine / 5120, v[1]), 65535)
        const out = Buffer.alloc(15)
        out[0] = 0x80 | profile
        setBme680Adc(out, adcP, adcT, adcH)
        if (runGas) {
            const gas = bme680GasAdc(cal, v[3])
            const adcG = clamp(gas[0], 1023)
            const stable = this.heaterStable && heatTarget !== 0 && heatingMs >= MIN_HEATING_MS
            out[13] = adcG >> 2
            out[14] = ((adcG & 3) << 6) | 0x20 | (stable ? 0x10 : 0) | gas[1]
        }
        this.result = out
    }

    /** Latches a finished measurement into the data registers; the part returns to sleep. */
    private update() {
        if (!this.result || ds.millis() < this.doneAt) return
        for (let i = 0; i < this.result.length; i++) this.regs[REG_STATUS + i] = this.result[i]
        this.regs[REG_CTRL_MEAS] = this.regs[REG_CTRL_MEAS] & 0xfc
        this.result = undefined
    }
}
