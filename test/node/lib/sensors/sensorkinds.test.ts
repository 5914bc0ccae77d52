/**
 * The sensor and board tables and the fault rules, on Node: every channel fits the genesis
 * block's limits, every board file in boards/ is in the table (and the reverse) with its I2C
 * pins in its entry file, FL_SENSOR selection, and each fault's begin/end transitions.
 */
import { readdirSync, readFileSync } from "node:fs"
import { describe, expect, test } from "vitest"
import { checkChannels, MAX_VERSION_BYTES } from "../../../../src/lib/codec/format"
import { MISSING } from "../../../../src/lib/codec/readings"
import {
    BOARDS,
    boardForArch,
    ChannelHealth,
    ChannelKind,
    faultLine,
    FAULT_MISSING,
    FAULT_NOT_A_NUMBER,
    FAULT_OUT_OF_RANGE,
    FAULT_READ_ERROR,
    FAULT_STUCK,
    selectSensor,
    SENSOR_KINDS,
    sensorKind,
    SIMULATOR_BOARD,
} from "../../../../src/lib/sensors/sensorkinds"

const TEMP: ChannelKind = { spec: { name: "temperature", unit: "degC", exponent: -2 }, min: -40, max: 125, stuckAfter: 3 }

describe("sensor kinds", () => {
    test.each(SENSOR_KINDS.map(k => [k.id, k] as const))("%s declares channels the genesis block accepts", (_id, kind) => {
        expect(() => checkChannels(kind.channels.map(c => c.spec))).not.toThrow()
        for (const c of kind.channels) {
            expect(c.min).toBeLessThan(c.max!)
            // The whole physical range must fit a 32-bit fixed-point reading.
            expect(Math.abs(c.max! * 10 ** -c.spec.exponent)).toBeLessThan(2 ** 31)
            expect(Math.abs(c.min! * 10 ** -c.spec.exponent)).toBeLessThan(2 ** 31)
        }
    })

    test("a kind with a part has the 7-bit I2C address its chip driver is given; the simulated kind has none", () => {
        for (const k of SENSOR_KINDS) {
            if (k.id === "sim") expect(k.i2cAddress).toBeUndefined()
            // 0x08..0x77: outside the addresses I2C reserves.
            else expect(k.i2cAddress! >= 0x08 && k.i2cAddress! <= 0x77).toBe(true)
        }
    })

    test("covers the issue's parts: SHTC3, SHT30, AHT20, BME680 (with gas), LTR390", () => {
        expect(SENSOR_KINDS.map(k => k.id)).toEqual(expect.arrayContaining(["shtc3", "sht30", "aht20", "bme680", "ltr390"]))
        expect(sensorKind("bme680")!.channels.map(c => c.spec.name)).toEqual(["temperature", "humidity", "pressure", "gas"])
        expect(sensorKind("ltr390")!.channels.map(c => c.spec.name)).toEqual(["uv_index", "illuminance"])
    })
})

describe("boards", () => {
    const files = readdirSync("boards").filter(f => f.endsWith(".board.json"))

    test("every boards/*.board.json is a table entry and every entry has a board file", () => {
        expect(files.map(f => f.replace(".board.json", "")).sort()).toEqual(BOARDS.map(b => b.id).sort())
    })

    test.each(BOARDS.map(b => [b.id, b] as const))(
        "%s: archId, entry file with its I2C pins, an id that fits the genesis block",
        (_id, board) => {
            const json = JSON.parse(readFileSync(`boards/${board.id}.board.json`, "utf8"))
            expect(json.archId).toBe(board.archId)
            expect(json.pins[board.sda]).toBeTypeOf("number")
            expect(json.pins[board.scl]).toBeTypeOf("number")
            const entry = readFileSync(`src/${board.entry}.ts`, "utf8")
            expect(entry).toContain(`from "@dsboard/${board.id}"`)
            expect(entry).toContain(`pinSDA: pins.${board.sda}, pinSCL: pins.${board.scl}`)
            expect(Buffer.byteLength(board.id)).toBeLessThanOrEqual(MAX_VERSION_BYTES)
            expect(sensorKind(board.defaultSensor)).toBeDefined()
            expect(boardForArch(board.archId, false)).toBe(board)
        }
    )

    test("the simulator is its own board whatever its arch, and an unknown arch is named as such", () => {
        expect(boardForArch("esp32c3", true)).toBe(SIMULATOR_BOARD)
        expect(boardForArch("esp32", false).id).toBe("unknown-esp32")
    })
})

describe("selectSensor", () => {
    const pico = BOARDS.find(b => b.id === "fl_pico")!
    test.each([
        [undefined, "aht20", false],
        ["", "aht20", false],
        ["ltr390", "ltr390", false],
        ["bme680", "bme680", false],
        ["SHTC3", "aht20", true],
        ["dht22", "aht20", true],
    ])("FL_SENSOR=%s on the Pico gives %s (warning: %s)", (setting, id, warns) => {
        const s = selectSensor(setting, pico)
        expect(s.kind.id).toBe(id)
        expect(s.warning !== undefined).toBe(warns)
    })
})

describe("ChannelHealth", () => {
    test("records good values as fixed point with no event", () => {
        const h = new ChannelHealth(TEMP)
        expect(h.observe(21.5)).toEqual({ value: 2150, fault: null, detail: "", event: null, eventFault: "" })
    })

    test.each([
        ["above the range", 125.01, FAULT_OUT_OF_RANGE],
        ["below the range", -40.5, FAULT_OUT_OF_RANGE],
        ["NaN", NaN, FAULT_NOT_A_NUMBER],
        ["not a number at all", undefined as unknown as number, FAULT_NOT_A_NUMBER],
    ])("a value %s is MISSING with fault %s", (_what, raw, fault) => {
        const h = new ChannelHealth(TEMP)
        const o = h.observe(raw)
        expect(o.value).toBe(MISSING)
        expect(o.fault).toBe(fault)
        expect(o.event).toBe("begin")
    })

    test("the range limits themselves are good values", () => {
        const h = new ChannelHealth(TEMP)
        expect(h.observe(125).value).toBe(12500)
        expect(h.observe(-40).value).toBe(-4000)
    })

    test("a fault begins once, lasts while it repeats, and ends on the next good value with the count", () => {
        const h = new ChannelHealth(TEMP)
        h.observe(20)
        expect(h.observeError(FAULT_MISSING, "gone").event).toBe("begin")
        expect(h.observeError(FAULT_MISSING, "gone").event).toBe(null)
        expect(h.observeError(FAULT_MISSING, "gone").value).toBe(MISSING)
        const back = h.observe(20.5)
        expect(back).toMatchObject({ value: 2050, fault: null, event: "end", eventFault: FAULT_MISSING })
        expect(faultLine("temperature", back)).toBe("fl:fault channel=temperature kind=missing state=end detail=3 readings missing")
        expect([h.faultsBegun, h.faultsEnded]).toEqual([1, 1])
    })

    test("a different fault while faulty is a new begin", () => {
        const h = new ChannelHealth(TEMP)
        h.observeError(FAULT_READ_ERROR, "nack")
        const o = h.observe(500)
        expect(o).toMatchObject({ fault: FAULT_OUT_OF_RANGE, event: "begin" })
        expect(faultLine("t", o)).toBe("fl:fault channel=t kind=out-of-range state=begin detail=value 500 outside -40..125")
    })

    test("stuckAfter identical values are recorded; the next identical ones are MISSING until the value changes", () => {
        const h = new ChannelHealth(TEMP)
        const values = [20, 20, 20, 20, 20, 20.01].map(v => h.observe(v))
        expect(values.map(o => o.value)).toEqual([2000, 2000, 2000, MISSING, MISSING, 2001])
        expect(values[3]).toMatchObject({ fault: FAULT_STUCK, event: "begin" })
        expect(values[5]).toMatchObject({ event: "end", eventFault: FAULT_STUCK })
    })

    test("stuck compares recorded values: noise below the channel's resolution is still stuck", () => {
        const h = new ChannelHealth(TEMP)
        const last = [20.001, 20.002, 19.999, 20.003].map(v => h.observe(v)).pop()!
        expect(last.fault).toBe(FAULT_STUCK)
    })

    test("stuckAfter 0 never calls a constant channel stuck (light at night)", () => {
        const h = new ChannelHealth({ ...TEMP, stuckAfter: 0 })
        for (let i = 0; i < 1000; i++) expect(h.observe(0).fault).toBe(null)
    })
})
