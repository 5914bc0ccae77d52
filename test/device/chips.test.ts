/**
 * fieldledger's I2C chip drivers for the Sensirion and Aosong parts (src/sensing/chips/) on a fake
 * I2C bus in the simulator: the standard fault scenarios for each, part-specific behaviour,
 * and a chain sealed through a sensor pulled out and put back.
 */
import * as ds from "@devicescript/core"
import { writeSetting } from "@devicescript/settings"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { FAULT_MISSING, SensorKind, SHT30_KIND } from "../../src/lib/sensors/sensorkinds"
import { verifyChain } from "../../src/lib/ledger/verify"
import { startDriverSensors } from "../../src/sensing/drivers"
import { loadSensorConfig, startSensors } from "../../src/sensing/sensorconfig"
import { chipRig, chipScenarios, ChipCase, sampleEvery } from "./helpers/chipscenarios"
import { FakeConditions, FakeI2C } from "./helpers/fakei2c"
import { FakeAht20, FakeSht30, FakeShtc3 } from "./helpers/fakesensirion"
import { startSealing } from "./helpers/sealing"

/** Indoor values that change a little with every measurement. */
function climate(n: number): number[] {
    return [21.5 + n * 0.13, 40 + n * 0.7]
}

const SHTC3: ChipCase = {
    kind: "shtc3",
    address: 0x70,
    newPart: (c: FakeConditions) => new FakeShtc3(c),
    values: climate,
    tolerance: [1, 1],
    outOfRange: [128, 40],
}
const SHT30: ChipCase = {
    kind: "sht30",
    address: 0x44,
    newPart: (c: FakeConditions) => new FakeSht30(c),
    values: climate,
    tolerance: [1, 1],
    outOfRange: [-42, 40],
}
const AHT20: ChipCase = {
    kind: "aht20",
    address: 0x38,
    newPart: (c: FakeConditions) => new FakeAht20(c),
    values: climate,
    tolerance: [1, 1],
    // The AHT20 reads up to 150 degC, its operating range ends at 85.
    outOfRange: [90, 40],
}

describe("SHTC3 on the fake bus", () => {
    chipScenarios(SHTC3)

    test("shtc3: the part sleeps between measurements", async () => {
        const rig = chipRig(SHTC3)
        await sampleEvery(rig.sources, 2, 20)
        expect((rig.part as FakeShtc3).asleep).toBe(true)
    })

    test("shtc3: another part at its address (wrong ID) is not taken for an SHTC3", async () => {
        const rig = chipRig(SHTC3)
        // Another part's ID word (product code not 0x807), with a valid CRC.
        ;(rig.part as FakeShtc3).idWord = 0x1234
        await sampleEvery(rig.sources, 2, 20)
        expect(rig.sources[0].health.fault).toBe(FAULT_MISSING)
        expect(rig.conditions.measurements).toBe(0)
    })
})

describe("SHT30 on the fake bus", () => {
    chipScenarios(SHT30)
})

describe("AHT20 on the fake bus", () => {
    chipScenarios(AHT20)

    test("aht20: initialised again after losing power", async () => {
        const rig = chipRig(AHT20)
        await sampleEvery(rig.sources, 1, 20)
        const part = rig.part as FakeAht20
        expect(part.calibrated).toBe(true)
        rig.bus.unplug(AHT20.address)
        await sampleEvery(rig.sources, 1, 20)
        expect(part.calibrated).toBe(false)
        rig.bus.plugIn(AHT20.address)
        const back = await sampleEvery(rig.sources, 2, 20)
        expect(part.calibrated).toBe(true)
        expect(back[1][0] === null).toBe(false)
    })
})

describe("configuration", () => {
    test("FL_SENSOR=sht30 reads the SHT30 on the bus through the firmware's sensor set-up", async () => {
        await writeSetting("FL_SENSOR", "sht30")
        const config = await loadSensorConfig()
        const bus = new FakeI2C()
        const conditions = new FakeConditions(climate)
        bus.attach(0x44, new FakeSht30(conditions))
        const sources = startSensors(config, bus)
        const readings = await sampleEvery(sources, 2, 20)
        await writeSetting("FL_SENSOR", "")
        expect(sources.map(s => s.spec.name).join()).toBe("temperature,humidity")
        expect(conditions.measurements).toBe(2)
        expect(readings[1][0]).toBe(2163)
        expect(readings[1][1]).toBe(4070)
    })

    test("the kind's I2C address is the one its chip driver talks to: an SHT30 with ADDR high, at 0x45", async () => {
        const kind: SensorKind = { id: SHT30_KIND.id, part: SHT30_KIND.part, i2cAddress: 0x45, channels: SHT30_KIND.channels }
        const bus = new FakeI2C()
        const conditions = new FakeConditions(climate)
        bus.attach(0x45, new FakeSht30(conditions))
        const readings = await sampleEvery(startDriverSensors(kind, bus), 2, 20)
        expect(conditions.measurements).toBe(2)
        expect(readings[1][0]).toBe(2163)
        expect(readings[1][1]).toBe(4070)
    })
})

describe("a chain through a sensor pulled out and put back", () => {
    test("the firmware keeps sealing; the verified chain holds the gap as missing values", async () => {
        const deviceId = Buffer.from("12abdd2289421234", "hex")
        const key = () => {
            const k = Buffer.alloc(32)
            for (let i = 0; i < 32; i++) k[i] = 3 * i
            return k
        }
        const rig = chipRig(SHTC3)
        const run = startSealing(rig.sources, deviceId, key(), { intervalMs: 200, maxBlockAgeMs: 1000 })
        await ds.sleep(1500)
        rig.bus.unplug(SHTC3.address)
        await ds.sleep(1500)
        rig.bus.plugIn(SHTC3.address)
        await ds.sleep(1500)
        run.fw.stop()
        const report = verifyChain(
            deviceCrypto,
            run.sealed().map(b => b.bytes),
            { deviceId, key0: key() }
        )
        expect(report.ok).toBe(true)
        expect(report.summary.readings >= 15).toBe(true)
        // Both channels of the readings taken while unplugged (about 7) are missing.
        expect(report.summary.missingValues >= 8).toBe(true)
        expect(report.summary.missingValues < report.summary.readings).toBe(true)
        expect(rig.sources[0].health.faultsEnded).toBe(1)
    })
})
