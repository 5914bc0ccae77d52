/**
 * Aosong AHT20 temperature and humidity (datasheet v1.1, 2021): after power-on the part needs
 * 40 ms and, when its status lacks the calibrated bit, the initialisation command; each
 * measurement is a trigger, 80 ms, and a 7-byte read whose busy bit must be clear.
 */
import * as ds from "@devicescript/core"
import { I2C } from "@devicescript/i2c"
import { AHT20_BUSY, AHT20_CALIBRATED, decodeAht20, FrameError } from "../../lib/sensors/sensirion"
import { SensorChip } from "./chip"

const INITIALIZE = hex`BE0800`
const TRIGGER = hex`AC3300`
const SOFT_RESET = hex`BA`
const POWER_ON_MS = 40
const RESET_MS = 20
const INITIALIZE_MS = 10
const MEASURE_MS = 80
/** Extra waits for a conversion still busy after MEASURE_MS. */
const BUSY_RETRIES = 3

export class Aht20Chip extends SensorChip {
    /** @param address the part's 7-bit I2C address (its sensor kind's `i2cAddress`) */
    constructor(bus: I2C, address: number) {
        super("AHT20", address, bus)
    }

    protected async initDriver(): Promise<void> {
        await ds.sleep(POWER_ON_MS)
        await this.writeBuf(SOFT_RESET)
        await ds.sleep(RESET_MS)
        if (((await this.readBuf(1))[0] & AHT20_CALIBRATED) === 0) {
            await this.writeBuf(INITIALIZE)
            await ds.sleep(INITIALIZE_MS)
            if (((await this.readBuf(1))[0] & AHT20_CALIBRATED) === 0) throw new FrameError("not calibrated after initialisation")
        }
    }

    async measure(): Promise<number[]> {
        await this.writeBuf(TRIGGER)
        await ds.sleep(MEASURE_MS)
        const frame = await this.readWhenDone(hex``, 7, f => (f[0] & AHT20_BUSY) === 0, BUSY_RETRIES, MEASURE_MS / 4)
        const th = decodeAht20(frame)
        return [th.temperature, th.humidity]
    }
}
