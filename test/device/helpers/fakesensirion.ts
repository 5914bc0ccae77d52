/**
 * Fake SHTC3, SHT30 and AHT20 parts for the fake I2C bus, following their datasheets'
 * command sets and timing: a read before the conversion time is over is not acknowledged
 * (SHTC3/SHT30 with clock stretching off) or reports busy (AHT20), an asleep SHTC3
 * acknowledges only its wake-up command, and an unknown command is not acknowledged.
 */
import * as ds from "@devicescript/core"
import { crc8 } from "../../../src/lib/sensors/sensirion"
import { FakeConditions, FakeI2CPart, FakeNack } from "./fakei2c"

function word(hi: number, lo: number): number {
    return (hi << 8) | lo
}

function clamp(v: number, max: number): number {
    return v < 0 ? 0 : v > max ? max : Math.round(v)
}

/** Words, each followed by its CRC. */
function sensirionFrame(words: number[]): Buffer {
    const out = Buffer.alloc(words.length * 3)
    for (let i = 0; i < words.length; i++) {
        out[i * 3] = words[i] >> 8
        out[i * 3 + 1] = words[i] & 0xff
        out[i * 3 + 2] = crc8(out, i * 3, 2)
    }
    return out
}

/** A Sensirion part's temperature-first reply for T (degC) and RH (%) with full scale `scale`. */
function temperatureHumidityFrame(t: number, rh: number, scale: number): Buffer {
    return sensirionFrame([clamp(((t + 45) * scale) / 175, 65535), clamp((rh * scale) / 100, 65535)])
}

function noReply(): Buffer {
    return Buffer.alloc(0)
}

/**
 * A measurement in conversion on a part without clock stretching: a read is not acknowledged
 * until the conversion time is over, and a finished measurement is read once.
 */
class Conversion {
    private readyAt = -1
    private reply: Buffer | undefined

    start(reply: Buffer, conversionMs: number) {
        this.reply = reply
        this.readyAt = ds.millis() + conversionMs
    }

    clear() {
        this.reply = undefined
        this.readyAt = -1
    }

    take(conditions: FakeConditions, readLength: number): Buffer {
        if (!this.reply || ds.millis() < this.readyAt) throw new FakeNack("no measurement ready")
        const reply = this.reply
        this.reply = undefined
        return conditions.deliver(reply.slice(0, readLength))
    }
}

export class FakeShtc3 implements FakeI2CPart {
    asleep = false
    /** The ID register (an SHTC3's product code is 0x807 in bits 11 and 5..0). */
    idWord = 0x0887
    private readonly conversion = new Conversion()

    constructor(readonly conditions: FakeConditions) {}

    powerCycle() {
        // Power-up state is idle (awake), with no measurement.
        this.asleep = false
        this.conversion.clear()
    }

    transfer(write: Buffer, readLength: number): Buffer {
        if (write.length === 0) {
            if (this.asleep) throw new FakeNack("asleep")
            return this.conversion.take(this.conditions, readLength)
        }
        const command = word(write[0], write[1])
        if (this.asleep && command !== 0x3517) throw new FakeNack("asleep, command " + command)
        if (command === 0x3517) this.asleep = false
        else if (command === 0xb098) this.asleep = true
        else if (command === 0x805d) this.conversion.clear()
        else if (command === 0xefc8) return sensirionFrame([this.idWord])
        else if (command === 0x7866) {
            const v = this.conditions.next()
            this.conversion.start(temperatureHumidityFrame(v[0], v[1], 65536), 12)
        } else throw new FakeNack("unknown command " + command)
        return noReply()
    }
}

export class FakeSht30 implements FakeI2CPart {
    private readonly conversion = new Conversion()

    constructor(readonly conditions: FakeConditions) {}

    powerCycle() {
        this.conversion.clear()
    }

    transfer(write: Buffer, readLength: number): Buffer {
        if (write.length === 0) return this.conversion.take(this.conditions, readLength)
        const command = word(write[0], write[1])
        if (command === 0x30a2) this.conversion.clear()
        else if (command === 0xf32d) return sensirionFrame([0x8010])
        else if (command === 0x2400) {
            const v = this.conditions.next()
            this.conversion.start(temperatureHumidityFrame(v[0], v[1], 65535), 15)
        } else throw new FakeNack("unknown command " + command)
        return noReply()
    }
}

export class FakeAht20 implements FakeI2CPart {
    calibrated = false
    private readyAt = -1
    private values: number[] | undefined

    constructor(readonly conditions: FakeConditions) {}

    powerCycle() {
        // An AHT20 after power-on reports itself uncalibrated until it is initialised.
        this.calibrated = false
        this.readyAt = -1
        this.values = undefined
    }

    private status(): number {
        return (this.values && ds.millis() < this.readyAt ? 0x80 : 0) | (this.calibrated ? 0x08 : 0) | 0x10
    }

    transfer(write: Buffer, readLength: number): Buffer {
        if (write.length === 0) {
            if (readLength === 1) return Buffer.from([this.status()])
            const out = Buffer.alloc(7)
            out[0] = this.status()
            if (this.values && (out[0] & 0x80) === 0) {
                const rh = clamp((this.values[1] / 100) * 1048576, 1048575)
                const t = clamp(((this.values[0] + 50) / 200) * 1048576, 1048575)
                out[1] = Math.floor(rh / 4096)
                out[2] = Math.floor(rh / 16) & 0xff
                out[3] = ((rh & 0x0f) << 4) | Math.floor(t / 65536)
                out[4] = Math.floor(t / 256) & 0xff
                out[5] = t & 0xff
            }
            out[6] = crc8(out, 0, 6)
            return this.conditions.deliver(out.slice(0, readLength))
        }
        if (write[0] === 0xbe) this.calibrated = true
        else if (write[0] === 0xba) this.values = undefined
        else if (write[0] === 0xac) {
            if (!this.calibrated) throw new FakeNack("trigger before initialisation")
            this.values = this.conditions.next()
            this.readyAt = ds.millis() + 75
        } else throw new FakeNack("unknown command " + write[0])
        return noReply()
    }
}
