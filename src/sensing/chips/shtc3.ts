/**
 * Sensirion SHTC3 temperature and humidity (datasheet v4, 2019). Between measurements the part
 * sleeps (it draws ~0.3 uA asleep): each measurement wakes it, starts a temperature-first
 * conversion without clock stretching, waits the maximum conversion time, reads the six bytes,
 * and puts it back to sleep.
 */
import * as ds from "@devicescript/core"
import { I2C } from "@devicescript/i2c"
import { decodeShtc3, FrameError, isShtc3Id, sensirionWords } from "../../lib/sensors/sensirion"
import { SensorChip } from "./chip"

const WAKEUP = hex`3517`
const SLEEP = hex`B098`
const SOFT_RESET = hex`805D`
const READ_ID = hex`EFC8`
/** Normal mode, temperature first, clock stretching off. */
const MEASURE_T_FIRST = hex`7866`
/** tPU / wake-up time is 240 us at most: 1 ms is the scheduler's smallest step. */
const WAKE_MS = 1
/** Normal-mode measurement: 12.1 ms at most. */
const MEASURE_MS = 13

export class Shtc3Chip extends SensorChip {
    /** @param address the part's 7-bit I2C address (its sensor kind's `i2cAddress`) */
    constructor(bus: I2C, address: number) {
        super("SHTC3", address, bus)
    }

    protected async initDriver(): Promise<void> {
        await this.wake()
        await this.writeBuf(SOFT_RESET)
        await ds.sleep(WAKE_MS)
        const id = sensirionWords(await this.xfer(READ_ID, 3), 1)[0]
        if (!isShtc3Id(id))
            throw new FrameError("ID register 0x" + Buffer.from([id >> 8, id & 0xff]).toString("hex") + " is not an SHTC3's")
        await this.writeBuf(SLEEP)
    }

    async measure(): Promise<number[]> {
        await this.wake()
        await this.writeBuf(MEASURE_T_FIRST)
        await ds.sleep(MEASURE_MS)
        const th = decodeShtc3(await this.readBuf(6))
        await this.writeBuf(SLEEP)
        return [th.temperature, th.humidity]
    }

    private async wake() {
        await this.writeBuf(WAKEUP)
        await ds.sleep(WAKE_MS)
    }
}
