/**
 * A fake I2C bus for the device tests (the simulator has no I2C): fake parts answer at their
 * addresses the way the datasheet says, and can be unplugged and plugged back in while the
 * program runs. A transaction the part would not acknowledge throws the same I2CError as the
 * runtime's bus, so the chip drivers run unchanged.
 */
import * as ds from "@devicescript/core"
import { I2C, I2CError } from "@devicescript/i2c"

/** What a fake part does with one transaction: a write, then an optional read. */
export interface FakeI2CPart {
    /**
     * Takes `write` (may be empty: a plain read) and returns the `readLength` bytes read (an
     * empty buffer for a plain write); throws FakeNack where the part would not acknowledge.
     */
    transfer(write: Buffer, readLength: number): Buffer
    /** Power lost (unplugged): the part forgets its state. */
    powerCycle(): void
}

/** The part does not acknowledge: the bus reports NAckData. */
export class FakeNack extends Error {
    constructor(message: string) {
        super(message)
        this.name = "FakeNack"
    }
}

interface Attached {
    address: number
    part: FakeI2CPart
    plugged: boolean
}

export class FakeI2C extends I2C {
    private readonly parts: Attached[] = []
    /** Transactions attempted, acknowledged or not. */
    transactions = 0

    attach(address: number, part: FakeI2CPart): FakeI2CPart {
        this.parts.push({ address, part, plugged: true })
        return part
    }

    /** The part stops answering (and loses power, so it comes back unconfigured). */
    unplug(address: number) {
        const a = this.find(address)
        a.plugged = false
        a.part.powerCycle()
    }

    plugIn(address: number) {
        this.find(address).plugged = true
    }

    override async xfer(devAddr: number, writeBuf: Buffer, numRead?: number): Promise<Buffer> {
        this.transactions++
        // A real transaction takes bus time; it also lets other fibers run, as on hardware.
        await ds.sleep(0)
        const a = this.parts.find(p => p.address === devAddr)
        if (!a || !a.plugged)
            throw new I2CError("I2C error " + ds.I2CStatus.NAckAddr + " dev=" + devAddr + ": no acknowledge", ds.I2CStatus.NAckAddr)
        try {
            return a.part.transfer(writeBuf, numRead || 0)
        } catch (e) {
            if (e instanceof FakeNack)
                throw new I2CError(
                    "I2C error " + ds.I2CStatus.NAckData + " dev=" + devAddr + ": " + (e as Error).message,
                    ds.I2CStatus.NAckData
                )
            throw e
        }
    }

    private find(address: number): Attached {
        const a = this.parts.find(p => p.address === address)
        if (!a) throw new RangeError("no fake part at " + address)
        return a
    }
}

/** The conditions a test puts a fake part's measurements under. */
export class FakeConditions {
    /** Measurements taken so far. */
    measurements = 0
    /** Corrupt the next reply's data (the CRC then fails, or the part's own check). */
    corruptNext = false

    /** @param values physical values per channel for measurement n */
    constructor(readonly values: (n: number) => number[]) {}

    next(): number[] {
        return this.values(this.measurements++)
    }

    /**
     * Applies (and clears) `corruptNext` to a reply: flips a bit of its second byte, or does
     * what `corrupt` does, for a part without a CRC where only some bit errors can be seen.
     */
    deliver(reply: Buffer, corrupt?: (reply: Buffer) => void): Buffer {
        if (this.corruptNext && reply.length > 1) {
            this.corruptNext = false
            if (corrupt) corrupt(reply)
            else reply[1] ^= 0x04
        }
        return reply
    }
}
