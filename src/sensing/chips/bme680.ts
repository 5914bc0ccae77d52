/**
 * Bosch BME680 temperature, humidity, pressure and gas resistance (datasheet BST-BME680-DS001),
 * one forced-mode measurement per sample; between samples the part sleeps.
 *
 * Set-up: soft reset (0xB6 to 0xE0), chip id 0x61 at 0xD0 and variant 0x00 at 0xF0 (a BME688
 * has the same chip id, variant 0x01 and another gas ADC: not supported), then the calibration
 * parameters from the part's NVM (compensation: src/lib/sensors/bme680calc.ts).
 *
 * Each sample writes the whole configuration, in one I2C write of register/value pairs (the
 * part's I2C write protocol): humidity oversampling x2, IIR filter off (one
 * sample a minute: a filter would only add lag), heater profile 0 at 320 degC for 150 ms
 * (148 ms as the part encodes it), gas conversion on, and last ctrl_meas with temperature x2,
 * pressure x4 and forced mode, which starts the measurement. A part that lost power since the
 * set-up (its registers back at their defaults) is thus measured right all the same. The
 * heater target is computed at the last measured temperature (25 degC before the first).
 *
 * The field data must carry new_data and heater profile 0, and no value marked skipped; a
 * block that does not is a read error. When the part reports the gas conversion invalid or the
 * heater not stable at its target (gas_valid_r / heat_stab_r clear), the gas channel alone
 * records that sample missing (a `read-error` fault saying which); the other three channels,
 * which do not depend on the heater, keep their values.
 */
import * as ds from "@devicescript/core"
import { I2C } from "@devicescript/i2c"
import {
    Bme680Calibration,
    bme680GasWait,
    bme680GasWaitMs,
    bme680HeaterResistance,
    bme680MeasureMs,
    bme680Reading,
    BME680_COEFF1_LENGTH,
    BME680_COEFF1_REGISTER,
    BME680_COEFF2_LENGTH,
    BME680_COEFF2_REGISTER,
    BME680_COEFF3_LENGTH,
    BME680_COEFF3_REGISTER,
    BME680_FIELD_LENGTH,
    BME680_FIELD_REGISTER,
    BME680_NEW_DATA,
    decodeBme680Fields,
    parseBme680Calibration,
} from "../../lib/sensors/bme680calc"
import { FAULT_READ_ERROR } from "../../lib/sensors/sensorkinds"
import { SensorFault } from "../sensors"
import { ChipValue, hexAddress, SensorChip } from "./chip"
import { FrameError } from "../../lib/sensors/sensirion"

const REG_CHIP_ID = 0xd0
const CHIP_ID = 0x61
const REG_VARIANT = 0xf0
const VARIANT_BME680 = 0x00
const REG_RESET = 0xe0
const SOFT_RESET = 0xb6
const REG_RES_HEAT_0 = 0x5a
const REG_GAS_WAIT_0 = 0x64
const REG_CTRL_GAS_1 = 0x71
const REG_CTRL_HUM = 0x72
const REG_CTRL_MEAS = 0x74
const REG_CONFIG = 0x75
/** ctrl_gas_1: run_gas, heater profile (nb_conv) 0. */
const RUN_GAS_PROFILE_0 = 0x10
const FORCED_MODE = 0x01
/** Oversampling codes: 2 is x2, 3 is x4. */
const OSRS_T = 2
const OSRS_P = 3
const OSRS_H = 2
const FILTER_OFF = 0
const HEATER_C = 320
const GAS_WAIT = bme680GasWait(150)
/** Temperature, pressure and humidity conversions plus the heating time. */
const MEASURE_MS = bme680MeasureMs(OSRS_T, OSRS_P, OSRS_H) + bme680GasWaitMs(GAS_WAIT)
/** Soft reset: the BME68x API waits 10 ms. */
const RESET_MS = 10
/** Extra polls of the status for a measurement not finished after MEASURE_MS. */
const NOT_READY_RETRIES = 4
const NOT_READY_MS = 5

export class Bme680Chip extends SensorChip {
    private calibration: Bme680Calibration
    /** Ambient temperature for the heater's target resistance. */
    private ambient = 25

    /** @param address the part's 7-bit I2C address (its sensor kind's `i2cAddress`) */
    constructor(bus: I2C, address: number) {
        super("BME680", address, bus)
    }

    protected async initDriver(): Promise<void> {
        await this.writeReg(REG_RESET, SOFT_RESET)
        await ds.sleep(RESET_MS)
        const id = await this.readReg(REG_CHIP_ID)
        if (id !== CHIP_ID) throw new FrameError("chip id " + hexAddress(id) + " at 0xD0 is not a BME680's (0x61)")
        const variant = await this.readReg(REG_VARIANT)
        if (variant !== VARIANT_BME680) throw new FrameError("variant " + hexAddress(variant) + " at 0xF0 (a BME688?) is not supported")
        const area1 = await this.readRegBuf(BME680_COEFF1_REGISTER, BME680_COEFF1_LENGTH)
        const area2 = await this.readRegBuf(BME680_COEFF2_REGISTER, BME680_COEFF2_LENGTH)
        const area3 = await this.readRegBuf(BME680_COEFF3_REGISTER, BME680_COEFF3_LENGTH)
        this.calibration = parseBme680Calibration(area1, area2, area3)
    }

    async measure(): Promise<ChipValue[]> {
        const heat = bme680HeaterResistance(this.calibration, HEATER_C, this.ambient)
        const ctrlMeas = (OSRS_T << 5) | (OSRS_P << 2) | FORCED_MODE
        // ctrl_hum takes effect with the write of ctrl_meas, which comes last and starts it.
        await this.writeBuf(
            Buffer.from([
                REG_CTRL_HUM,
                OSRS_H,
                REG_CONFIG,
                FILTER_OFF << 2,
                REG_RES_HEAT_0,
                heat,
                REG_GAS_WAIT_0,
                GAS_WAIT,
                REG_CTRL_GAS_1,
                RUN_GAS_PROFILE_0,
                REG_CTRL_MEAS,
                ctrlMeas,
            ])
        )
        await ds.sleep(MEASURE_MS)
        const frame = await this.readWhenDone(
            Buffer.from([BME680_FIELD_REGISTER]),
            BME680_FIELD_LENGTH,
            f => (f[0] & BME680_NEW_DATA) !== 0,
            NOT_READY_RETRIES,
            NOT_READY_MS
        )
        const fields = decodeBme680Fields(frame)
        const values: ChipValue[] = bme680Reading(this.calibration, fields, 0)
        this.ambient = values[0] as number
        if (!fields.heatStable)
            values[3] = new SensorFault(FAULT_READ_ERROR, "gas: heater did not reach " + HEATER_C + " degC (heat_stab clear)")
        else if (!fields.gasValid) values[3] = new SensorFault(FAULT_READ_ERROR, "gas: conversion not valid (gas_valid clear)")
        return values
    }
}
