/**
 * Sensor faults in the simulator: fake Jacdac sensor servers that go missing, report values out
 * of the part's range, get stuck, and channels whose reads throw. Each becomes MISSING in the
 * reading and a fault on the channel's health, sampling goes on, and the channel recovers when
 * the sensor does. Then the configuration path: FL_SENSOR picks the drivers' channels.
 */
import * as ds from "@devicescript/core"
import { writeSetting } from "@devicescript/settings"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { MISSING, Reading } from "../../src/lib/codec/readings"
import {
    ChannelKind,
    FAULT_MISSING,
    FAULT_OUT_OF_RANGE,
    FAULT_READ_ERROR,
    FAULT_STUCK,
    SENSOR_KINDS,
    SIMULATOR_BOARD,
    SIM_KIND,
} from "../../src/lib/sensors/sensorkinds"
import { verifyChain } from "../../src/lib/ledger/verify"
import { loadSensorConfig, startSensors } from "../../src/sensing/sensorconfig"
import { SENSOR_DEVICES } from "../../src/sensing/sensordevices"
import { ChannelSource, sampleChannels, sensorChannel, waitForSensors } from "../../src/sensing/sensors"
import { flakyChannel, ScriptedSensorServer, serveTemperature } from "./helpers/fakesensors"
import { startSealing } from "./helpers/sealing"

const TEMPERATURE: ChannelKind = { spec: { name: "temperature", unit: "degC", exponent: -2 }, min: -40, max: 125, stuckAfter: 4 }
const MAX_AGE_MS = 600

/** Readings of `sources` every `intervalMs`, `count` times. */
async function sample(sources: ChannelSource[], count: number, intervalMs: number): Promise<Reading[]> {
    const out: Reading[] = []
    for (let i = 0; i < count; i++) {
        out.push(await sampleChannels(sources))
        await ds.sleep(intervalMs)
    }
    return out
}

/** A fresh K_0 each call: the ledger wipes the key it is given as the key evolves. */
function chainKey(): Buffer {
    const key = Buffer.alloc(32)
    for (let i = 0; i < 32; i++) key[i] = 7 + i
    return key
}

function channelNames(sources: ChannelSource[]): string {
    const names: string[] = []
    for (const source of sources) names.push(source.spec.name)
    return names.join(",")
}

function countMissing(readings: Reading[], channel: number): number {
    let n = 0
    for (const r of readings) if (r[channel] === MISSING) n++
    return n
}

interface FakeTemperature {
    server: ScriptedSensorServer
    source: ChannelSource
}

/** A temperature channel on a fake server following `script`. */
function fakeTemperature(role: string, script: (n: number) => number): FakeTemperature {
    const server = new ScriptedSensorServer(ds.Temperature.spec, script)
    const client = serveTemperature(server, role)
    return { server, source: sensorChannel(TEMPERATURE, () => client, MAX_AGE_MS) }
}

// Every fake server starts here, before the program's first announce: the bus learns a
// device's services once, so a server started later would never bind.
const DROPOUT = fakeTemperature("fakeDropout", n => 20 + n / 100)
// 21.00, then three samples of 200 degC (beyond the SHTC3's 125), then 21.xx again.
const SPIKE = fakeTemperature("fakeSpike", n => (n >= 3 && n < 6 ? 200 : 21 + n / 100))
const FROZEN_COLD = fakeTemperature("fakeCold", n => -60)
// 23.45 for 12 samples, then changing values.
const STUCK = fakeTemperature("fakeStuck", n => (n < 12 ? 23.45 : 24 + n / 100))
const CHAIN = fakeTemperature("fakeChain", n => 20 + (n % 50) / 10)
// The "sim" kind's sources, started through its device record as the firmware does.
const SIMULATED = startSensors({ board: SIMULATOR_BOARD, kind: SIM_KIND })

/** Waits until the fake's channel has its first sample. */
async function ready(fake: FakeTemperature): Promise<FakeTemperature> {
    expect(await waitForSensors([fake.source], 5000)).toBe(true)
    return fake
}

describe("sensor faults", () => {
    test("a sensor that drops off the bus is recorded missing, and recovers when it returns", async () => {
        const { server, source } = await ready(DROPOUT)
        await sample([source], 5, 200)
        expect(source.health.fault).toBe(null)
        server.unplug()
        const gone = await sample([source], 10, 200)
        expect(countMissing(gone, 0) >= 5).toBe(true)
        expect(source.health.fault).toBe(FAULT_MISSING)
        server.plugIn()
        // The client asks for streaming again by itself; the channel recovers from the next sample.
        let back = await sample([source], 10, 300)
        expect(back[back.length - 1][0] === MISSING).toBe(false)
        expect(source.health.fault).toBe(null)
        expect(source.health.faultsEnded).toBe(1)
    })

    test("a value outside the part's range is a fault, not a reading; the next good value ends it", async () => {
        const { source } = await ready(SPIKE)
        const readings = await sample([source], 14, 150)
        let bad = 0
        for (const r of readings) if (r[0] !== MISSING && (r[0] as number) > 12500) bad++
        expect(bad).toBe(0)
        expect(source.health.faultsBegun >= 1).toBe(true)
        expect(source.health.faultsEnded >= 1).toBe(true)
        expect(source.health.fault).toBe(null)
        expect(readings[readings.length - 1][0] === MISSING).toBe(false)
    })

    test("a value out of range is reported as out-of-range while it lasts", async () => {
        const { source } = await ready(FROZEN_COLD)
        await sample([source], 6, 150)
        expect(source.health.fault).toBe(FAULT_OUT_OF_RANGE)
    })

    test("the same value many times in a row is a stuck sensor until the value changes", async () => {
        const { server, source } = await ready(STUCK)
        const stuck = await sample([source], 8, 120)
        expect(source.health.fault).toBe(FAULT_STUCK)
        // The first stuckAfter (4) identical values were plausible and are recorded.
        expect(stuck[0][0]).toBe(2345)
        expect(countMissing(stuck, 0) >= 2).toBe(true)
        while (server.samples < 14) await ds.sleep(100)
        await sample([source], 3, 150)
        expect(source.health.fault).toBe(null)
    })

    test("a read that throws is a read-error fault for that channel only, and sampling recovers", async () => {
        const good = flakyChannel("good", n => false)
        const flaky = flakyChannel("flaky", n => n >= 2 && n < 5)
        const readings = await sample([good, flaky], 8, 10)
        expect(countMissing(readings, 0)).toBe(0)
        expect(countMissing(readings, 1)).toBe(3)
        expect(flaky.health.faultsBegun).toBe(1)
        expect(flaky.health.faultsEnded).toBe(1)
        expect(readings[7][1]).toBe(107)
    })
})

describe("faults in the chain", () => {
    test("the firmware keeps sealing through a dropout; the verified chain counts the missing values", async () => {
        const deviceId = Buffer.from("12abdd2289421234", "hex")
        const { server, source } = await ready(CHAIN)
        const sources = [source, flakyChannel("flaky", n => n % 4 === 0)]
        // The genesis block is sealed after this wait, where it came before it: its time does not matter here.
        await ds.sleep(300)
        const run = startSealing(sources, deviceId, chainKey(), { intervalMs: 200, maxBlockAgeMs: 1000 })
        await ds.sleep(1500)
        server.unplug()
        await ds.sleep(2000)
        server.plugIn()
        await ds.sleep(2500)
        run.fw.stop()
        const report = verifyChain(
            deviceCrypto,
            run.sealed().map(b => b.bytes),
            { deviceId, key0: chainKey() }
        )
        expect(report.ok).toBe(true)
        // About 30 readings; the flaky channel misses one in four, the dropout several more.
        expect(report.summary.readings >= 20).toBe(true)
        expect(report.summary.missingValues > report.summary.readings / 4).toBe(true)
        expect(report.summary.missingValues < report.summary.readings).toBe(true)
        expect(sources[0].health.faultsEnded >= 1).toBe(true)
    })
})

describe("sensor configuration", () => {
    test("the simulator defaults to the simulated sensors", async () => {
        const config = await loadSensorConfig()
        expect(config.board.id).toBe("simulator")
        expect(config.kind.id).toBe("sim")
    })

    test("every sensor kind has one device record, with a chip driver exactly when it has an I2C address", async () => {
        for (const kind of SENSOR_KINDS) {
            let records = 0
            for (const d of SENSOR_DEVICES)
                if (d.kind.id === kind.id) {
                    records++
                    expect(d.kind).toBe(kind)
                    // A part: its chip driver and, in the simulator, simulated sensors by role; no part: its sources.
                    expect(d.chip !== undefined).toBe(kind.i2cAddress !== undefined)
                    expect(d.simulatorDriver !== undefined).toBe(d.chip !== undefined)
                    expect(d.sources !== undefined).toBe(d.chip === undefined)
                }
            if (records !== 1) throw new Error("sensor kind " + kind.id + " has " + records + " device records")
        }
        expect(SENSOR_DEVICES.length).toBe(SENSOR_KINDS.length)
    })

    test("the simulated sensor kind serves its own readings", async () => {
        expect(channelNames(SIMULATED)).toBe("temperature,humidity,pressure")
        expect(await waitForSensors(SIMULATED, 5000)).toBe(true)
        const readings = await sample(SIMULATED, 2, 50)
        for (let c = 0; c < 3; c++) expect(countMissing(readings, c)).toBe(0)
    })

    test("FL_SENSOR picks a driver; in the test simulator nothing binds, so its channels are missing and sampling goes on", async () => {
        await writeSetting("FL_SENSOR", "bme680")
        const config = await loadSensorConfig()
        expect(config.kind.id).toBe("bme680")
        const sources = startSensors(config)
        expect(sources.length).toBe(4)
        expect(channelNames(sources)).toBe("temperature,humidity,pressure,gas")
        const readings = await sample(sources, 4, 50)
        for (let c = 0; c < 4; c++) expect(countMissing(readings, c)).toBe(4)
        expect(sources[0].health.fault).toBe(FAULT_MISSING)
        await writeSetting("FL_SENSOR", "no-such-sensor")
        expect((await loadSensorConfig()).kind.id).toBe("sim")
        await writeSetting("FL_SENSOR", "")
    })
})

describe("sensor that is not there", () => {
    test("a sensor that never binds is missing on every read, and reads do not wait for it", async () => {
        const nobody = new ds.Temperature("fakeNeverBound")
        const source = sensorChannel(TEMPERATURE, () => nobody, MAX_AGE_MS)
        const start = ds.millis()
        const readings = await sample([source], 5, 10)
        expect(countMissing(readings, 0)).toBe(5)
        expect(source.health.fault).toBe(FAULT_MISSING)
        expect(source.health.faultsBegun).toBe(1)
        // Five reads with 10 ms pauses: a read that waited for binding would never return.
        expect(ds.millis() - start < 5000).toBe(true)
    })
})
