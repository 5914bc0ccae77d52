/**
 * fieldledger's own I2C sensor drivers. The upstream `@devicescript/drivers` parts serve their
 * values from a Jacdac server fiber, and a read error there (a sensor unplugged at run time) is
 * an unhandled exception that restarts the whole program. Here a chip is read by the sampler
 * itself, so an I2C error is an exception the channel turns into a fault marker, and the chip
 * is set up again on the next sample, which is how it recovers when it comes back.
 *
 * A chip is built on the exported `I2CDriver` (register helpers, and an injectable `I2C`
 * client: the board's bus on hardware, a fake bus in the device tests, since the simulator has
 * no I2C). Its `init()` and `I2CSensorDriver.read()` are not used: both return at once in the
 * simulator, where the fake-bus tests have to run the real code.
 */
import { I2CDriver } from "@devicescript/drivers"
import * as ds from "@devicescript/core"
import { I2C } from "@devicescript/i2c"
import { SensorFault } from "../sensors"

/** A channel's value from one measurement, or the reason that channel alone has none. */
export type ChipValue = number | SensorFault

export abstract class SensorChip extends I2CDriver {
    /**
     * @param part the part's name for fault lines
     * @param address 7-bit I2C address
     * @param bus the I2C client (`i2c` from @devicescript/i2c on a board)
     */
    constructor(
        readonly part: string,
        address: number,
        bus: I2C
    ) {
        super(address, { client: bus })
    }

    /**
     * Resets and configures the part, and checks that it is the expected part where it can
     * say so. Throws when it does not answer (the sensor is missing) or answers wrongly.
     */
    async begin(): Promise<void> {
        await this.initDriver()
    }

    /**
     * One measurement: a physical value per channel, in the sensor kind's channel order. A
     * channel the part could not measure this time while the others are fine gets a
     * SensorFault; a failure of the whole measurement throws.
     */
    abstract measure(): Promise<ChipValue[]>

    /**
     * Writes `command` (a register address, or nothing) and reads `length` bytes; again, up to
     * `retries` times `gapMs` apart, while `done` says the reply is not: a part can finish a
     * conversion a little after its nominal time. Returns the last reply, which the caller
     * still checks (it may not be done).
     */
    protected async readWhenDone(
        command: Buffer,
        length: number,
        done: (reply: Buffer) => boolean,
        retries: number,
        gapMs: number
    ): Promise<Buffer> {
        let reply = await this.xfer(command, length)
        for (let retry = 0; retry < retries && !done(reply); retry++) {
            await ds.sleep(gapMs)
            reply = await this.xfer(command, length)
        }
        return reply
    }
}

/** Hex of a 7-bit address for messages ("0x70"). */
export function hexAddress(address: number): string {
    return "0x" + Buffer.from([address]).toString("hex")
}
