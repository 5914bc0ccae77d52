/**
 * Sensirion SHT30 (SHT3x-DIS datasheet v7, 2022) temperature and humidity: a single-shot
 * high-repeatability measurement without clock stretching per sample (the part idles between
 * them at 0.2 uA).
 */
import * as ds from "@devicescript/core"
import { I2C } from "@devicescript/i2c"
import { decodeSht3x, sensirionWords } from "../../lib/sensors/sensirion"
import { SensorChip } from "./chip"

const SOFT_RESET = hex`30A2`
const READ_STATUS = hex`F32D`
/** Single shot, high repeatability, clock stretching disabled. */
const MEASURE_HIGH = hex`2400`
/** Soft reset: 1.5 ms at most. */
const RESET_MS = 2
/** High repeatability: 15.5 ms at most. */
const MEASURE_MS = 16

export class Sht30Chip extends SensorChip {
    /** @param address the part's 7-bit I2C address (its sensor kind's `i2cAddress`) */
    constructor(bus: I2C, address: number) {
        super("SHT30", address, bus)
    }

    protected async initDriver(): Promise<void> {
        await this.writeBuf(SOFT_RESET)
        await ds.sleep(RESET_MS)
        // The status word carries a CRC: a reply that checks is an SHT3x answering.
        sensirionWords(await this.xfer(READ_STATUS, 3), 1)
    }

    async measure(): Promise<number[]> {
        await this.writeBuf(MEASURE_HIGH)
        await ds.sleep(MEASURE_MS)
        const th = decodeSht3x(await this.readBuf(6))
        return [th.temperature, th.humidity]
    }
}
