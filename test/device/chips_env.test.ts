/**
 * fieldledger's I2C chip drivers for the environmental parts, Bosch BME680 and LITEON
 * LTR-390UV-01 (src/sensing/chips/), on a fake I2C bus in the simulator: the standard fault scenarios
 * for each, and part-specific behaviour (calibration, brown-out, heater, both light modes,
 * identity, saturation).
 */
import { describe, expect, test } from "@devicescript/test"
import { bme680HeaterResistance } from "../../src/lib/sensors/bme680calc"
import { MISSING } from "../../src/lib/codec/readings"
import { FAULT_MISSING, FAULT_OUT_OF_RANGE, FAULT_READ_ERROR } from "../../src/lib/sensors/sensorkinds"
import { chipRig, chipScenarios, ChipCase, sampleEvery } from "./helpers/chipscenarios"
import { FakeBme680 } from "./helpers/fakebosch"
import { FakeConditions } from "./helpers/fakei2c"
import { FakeLtr390 } from "./helpers/fakeliteon"

/** Indoor air that changes a little with every measurement: degC, %RH, hPa, Ohm. */
function air(n: number): number[] {
    return [21.5 + n * 0.13, 40 + n * 0.7, 1008 + n * 0.37, 85000 + n * 1300]
}

/** Daylight through a window: UVI and lx. */
function light(n: number): number[] {
    return [2.5 + n * 0.31, 320 + n * 17.3]
}

const BME680: ChipCase = {
    kind: "bme680",
    address: 0x76,
    newPart: (c: FakeConditions) => new FakeBme680(c),
    values: air,
    // 0.01 degC, 0.01 %RH, 0.01 hPa (the ADC steps 0.7 Pa at x4), 1 Ohm (a gas ADC count is ~90 Ohm here).
    tolerance: [1, 1, 2, 100],
    outOfRange: [90, 40, 1010, 90000],
}

const LTR390: ChipCase = {
    kind: "ltr390",
    address: 0x53,
    newPart: (c: FakeConditions) => new FakeLtr390(c),
    values: light,
    // 0.01 UVI (a count is 0.0017 UVI), 0.1 lx (a count is 0.6 lx at gain 1).
    tolerance: [1, 4],
    outOfRange: [35, 500],
}

function missingAt(reading: (number | null)[]): number[] {
    const out: number[] = []
    for (let i = 0; i < reading.length; i++) if (reading[i] === MISSING) out.push(i)
    return out
}

describe("BME680 on the fake bus", () => {
    chipScenarios(BME680)

    test("bme680: after power loss the part is set up again and its calibration read again", async () => {
        const rig = chipRig(BME680)
        const part = rig.part as FakeBme680
        await sampleEvery(rig.sources, 1, 20)
        expect(part.calibrationReads).toBe(1)
        rig.bus.unplug(BME680.address)
        await sampleEvery(rig.sources, 1, 20)
        rig.bus.plugIn(BME680.address)
        const back = await sampleEvery(rig.sources, 2, 20)
        expect(part.calibrationReads).toBe(2)
        expect(missingAt(back[0]).length).toBe(0)
        expect(missingAt(back[1]).length).toBe(0)
    })

    test("bme680: a brown-out between samples (registers at their defaults, no bus error) is measured right", async () => {
        const rig = chipRig(BME680)
        const part = rig.part as FakeBme680
        await sampleEvery(rig.sources, 1, 20)
        part.powerCycle()
        expect(part.register(0x74)).toBe(0)
        const after = await sampleEvery(rig.sources, 1, 20)
        // Every sample writes the whole configuration, so nothing is skipped or missing.
        expect(missingAt(after[0]).length).toBe(0)
        expect(part.calibrationReads).toBe(1)
        for (const s of rig.sources) expect(s.health.fault).toBe(null)
    })

    test("bme680: each sample is one forced measurement, heater at 320 degC for 148 ms, then the part sleeps", async () => {
        const rig = chipRig(BME680)
        const part = rig.part as FakeBme680
        await sampleEvery(rig.sources, 2, 20)
        expect(part.triggers).toBe(2)
        expect(part.register(0x64)).toBe(0x65)
        // The target at the first sample's temperature.
        const heat = part.register(0x5a)
        const want = bme680HeaterResistance(part.calibration, 320, air(0)[0])
        expect(Math.abs(heat - want) <= 1).toBe(true)
        expect(part.register(0x74) & 0x03).toBe(0)
        // osrs_t x2 (2), osrs_p x4 (3)
        expect(part.register(0x74) >> 2).toBe((2 << 3) | 3)
        expect(part.register(0x72)).toBe(0x02)
    })

    test("bme680: a heater not stable at its target makes the gas channel alone missing", async () => {
        const rig = chipRig(BME680)
        const part = rig.part as FakeBme680
        await sampleEvery(rig.sources, 1, 20)
        part.heaterStable = false
        const unstable = await sampleEvery(rig.sources, 2, 20)
        expect(missingAt(unstable[0]).join()).toBe("3")
        expect(missingAt(unstable[1]).join()).toBe("3")
        expect(rig.sources[3].health.fault).toBe(FAULT_READ_ERROR)
        for (let i = 0; i < 3; i++) expect(rig.sources[i].health.fault).toBe(null)
        part.heaterStable = true
        const stable = await sampleEvery(rig.sources, 1, 20)
        expect(missingAt(stable[0]).length).toBe(0)
        expect(rig.sources[3].health.faultsEnded).toBe(1)
        // The part was not set up again: the other channels never failed.
        expect(part.calibrationReads).toBe(1)
    })

    test("bme680: a BME280 (chip id 0x60) or a BME688 (variant 1) at the address is not taken for a BME680", async () => {
        const rig = chipRig(BME680)
        ;(rig.part as FakeBme680).chipId = 0x60
        await sampleEvery(rig.sources, 1, 20)
        expect(rig.sources[0].health.fault).toBe(FAULT_MISSING)
        const rig688 = chipRig(BME680)
        ;(rig688.part as FakeBme680).variant = 0x01
        await sampleEvery(rig688.sources, 1, 20)
        expect(rig688.sources[0].health.fault).toBe(FAULT_MISSING)
        expect(rig.conditions.measurements + rig688.conditions.measurements).toBe(0)
    })
})

describe("LTR390 on the fake bus", () => {
    chipScenarios(LTR390)

    test("ltr390: every sample is one ALS and one UVS conversion, then the part stands by", async () => {
        const rig = chipRig(LTR390)
        const part = rig.part as FakeLtr390
        await sampleEvery(rig.sources, 3, 20)
        expect(rig.conditions.measurements).toBe(3)
        expect(part.alsConversions).toBe(3)
        expect(part.uvsConversions).toBe(3)
        expect(part.active()).toBe(false)
    })

    test("ltr390: another part id at the address is not taken for an LTR-390", async () => {
        const rig = chipRig(LTR390)
        ;(rig.part as FakeLtr390).partId = 0xc2
        await sampleEvery(rig.sources, 2, 20)
        expect(rig.sources[0].health.fault).toBe(FAULT_MISSING)
        expect(rig.sources[1].health.fault).toBe(FAULT_MISSING)
        expect(rig.conditions.measurements).toBe(0)
    })

    test("ltr390: light that saturates the ALS is out of range on illuminance alone", async () => {
        const rig = chipRig(LTR390, n => (n === 1 ? [3, 400000] : light(n)))
        const readings = await sampleEvery(rig.sources, 3, 20)
        expect(missingAt(readings[1]).join()).toBe("1")
        expect(rig.sources[1].health.faultsBegun).toBe(1)
        expect(rig.sources[1].health.fault).toBe(null)
        expect(rig.sources[0].health.faultsBegun).toBe(0)
        expect(missingAt(readings[2]).length).toBe(0)
    })
})

export { FAULT_OUT_OF_RANGE }
