/**
 * The sensors and boards fieldledger supports, as data: which ledger channels each sensor kind
 * gives (name, unit, fixed-point exponent, physical range), which sensor a board uses by
 * default, and the fault rules that turn a bad value into a fault marker. Pure (no I/O, no
 * `@devicescript/*` import): the device adapters (src/sensing/drivers.ts, src/sensing/sensors.ts) and the Node
 * tests share it.
 *
 * A sensor kind is two records: its description here (one `SensorKind`, listed in
 * SENSOR_KINDS), and what the firmware runs for it (one `SensorDevice` in
 * src/sensing/sensordevices.ts: its chip driver and its simulator binding), which refers to
 * this one. Adding a kind is adding those two records (and the kind's chip driver).
 */
import { ChannelSpec } from "../codec/format"
import { toFixedPoint } from "../codec/fixedpoint"
import { MISSING } from "../codec/readings"
import { faultLine as formatFaultLine } from "../log/lines"

/** One ledger channel of a sensor kind, with the range the part can physically report. */
export interface ChannelKind {
    spec: ChannelSpec
    /** Lowest and highest value the part can report (datasheet); outside is a fault. */
    min?: number
    max?: number
    /**
     * Consecutive identical recorded values after which the sensor counts as stuck; 0 never
     * (light at night is legitimately constant).
     */
    stuckAfter: number
}

export interface SensorKind {
    /** Value of the FL_SENSOR setting. */
    id: string
    part: string
    /** 7-bit I2C address the part's chip driver talks to; absent for a kind with no I2C part. */
    i2cAddress?: number
    channels: ChannelKind[]
}

/** Identical readings in a row that make a sensor stuck: an hour at one reading a minute. */
export const DEFAULT_STUCK_AFTER = 60

function channel(name: string, unit: string, exponent: number, min: number, max: number, stuckAfter: number): ChannelKind {
    return { spec: { name, unit, exponent }, min, max, stuckAfter }
}

const S = DEFAULT_STUCK_AFTER

// Ranges from each part's datasheet.

export const SHTC3_KIND: SensorKind = {
    id: "shtc3",
    part: "Sensirion SHTC3",
    i2cAddress: 0x70,
    channels: [channel("temperature", "degC", -2, -40, 125, S), channel("humidity", "%RH", -2, 0, 100, S)],
}

export const SHT30_KIND: SensorKind = {
    id: "sht30",
    part: "Sensirion SHT30",
    // 0x45 with the ADDR pin high.
    i2cAddress: 0x44,
    channels: [channel("temperature", "degC", -2, -40, 125, S), channel("humidity", "%RH", -2, 0, 100, S)],
}

export const AHT20_KIND: SensorKind = {
    id: "aht20",
    part: "Aosong AHT20",
    i2cAddress: 0x38,
    channels: [channel("temperature", "degC", -2, -40, 85, S), channel("humidity", "%RH", -2, 0, 100, S)],
}

export const BME680_KIND: SensorKind = {
    id: "bme680",
    part: "Bosch BME680",
    // 0x77 with SDO high.
    i2cAddress: 0x76,
    channels: [
        channel("temperature", "degC", -2, -40, 85, S),
        channel("humidity", "%RH", -2, 0, 100, S),
        channel("pressure", "hPa", -2, 300, 1100, S),
        // Gas resistance of the heated plate; it settles on a constant in clean air.
        channel("gas", "Ohm", 0, 1, 50000000, 0),
    ],
}

export const LTR390_KIND: SensorKind = {
    id: "ltr390",
    part: "LITEON LTR-390UV-01",
    i2cAddress: 0x53,
    channels: [channel("uv_index", "UVI", -2, 0, 30, 0), channel("illuminance", "lx", -1, 0, 200000, 0)],
}

export const SIM_KIND: SensorKind = {
    id: "sim",
    part: "simulated (Jacdac servers inside the program)",
    channels: [
        channel("temperature", "degC", -2, -40, 125, S),
        channel("humidity", "%RH", -2, 0, 100, S),
        channel("pressure", "hPa", -1, 300, 1100, S),
    ],
}

/** Every supported sensor kind, the values FL_SENSOR accepts. */
export const SENSOR_KINDS: SensorKind[] = [SHTC3_KIND, SHT30_KIND, AHT20_KIND, BME680_KIND, LTR390_KIND, SIM_KIND]

export function sensorKind(id: string): SensorKind | undefined {
    for (const k of SENSOR_KINDS) if (k.id === id) return k
    return undefined
}

/** A supported target: boards/<id>.board.json, entry src/<entry>.ts. */
export interface BoardProfile {
    id: string
    name: string
    /** The runtime's `archId` (ds._dcfgString("archId")), which tells the boards apart. */
    archId: string
    entry: string
    sda: string
    scl: string
    /** FL_SENSOR when the setting is absent. */
    defaultSensor: string
}

export const BOARDS: BoardProfile[] = [
    {
        id: "fl_xiao_esp32c3",
        name: "Seeed Studio XIAO ESP32C3",
        archId: "esp32c3",
        entry: "main_xiao_esp32c3",
        sda: "SDA_D4",
        scl: "SCL_D5",
        defaultSensor: "shtc3",
    },
    {
        id: "fl_esp32s3_devkitm",
        name: "Espressif ESP32-S3 DevKitM",
        archId: "esp32s3",
        entry: "main_esp32s3_devkitm",
        sda: "P8",
        scl: "P9",
        defaultSensor: "bme680",
    },
    {
        id: "fl_pico_w",
        name: "Raspberry Pi Pico W",
        archId: "rp2040w",
        entry: "main_pico_w",
        sda: "GP4",
        scl: "GP5",
        defaultSensor: "sht30",
    },
    { id: "fl_pico", name: "Raspberry Pi Pico", archId: "rp2040", entry: "main_pico", sda: "GP4", scl: "GP5", defaultSensor: "aht20" },
]

export const SIMULATOR_BOARD: BoardProfile = {
    id: "simulator",
    name: "DeviceScript simulator",
    archId: "wasm",
    entry: "main",
    sda: "",
    scl: "",
    defaultSensor: "sim",
}

/** The board a runtime architecture stands for; the simulator for the WASM and native VMs. */
export function boardForArch(archId: string, isSimulator: boolean): BoardProfile {
    if (isSimulator) return SIMULATOR_BOARD
    for (const b of BOARDS) if (b.archId === archId) return b
    return {
        id: "unknown-" + archId,
        name: "unsupported board (" + archId + ")",
        archId,
        entry: "main",
        sda: "",
        scl: "",
        defaultSensor: "shtc3",
    }
}

export interface SensorSelection {
    kind: SensorKind
    /** Why the setting was not used, when it was not. */
    warning?: string
}

/** The sensor the FL_SENSOR setting names, or the board's default when it is absent or unknown. */
export function selectSensor(setting: string | undefined | null, board: BoardProfile): SensorSelection {
    const fallback = sensorKind(board.defaultSensor)
    if (!fallback) throw new RangeError("board " + board.id + " has an unknown default sensor " + board.defaultSensor)
    if (setting === undefined || setting === null || setting === "") return { kind: fallback }
    const kind = sensorKind(setting)
    if (kind) return { kind }
    return {
        kind: fallback,
        warning: "FL_SENSOR=" + setting + " is not a known sensor (" + SENSOR_KINDS.map(k => k.id).join(", ") + "), using " + fallback.id,
    }
}

/** Fault kinds, as they appear in `fl:fault` lines. */
export const FAULT_READ_ERROR = "read-error"
export const FAULT_MISSING = "missing"
export const FAULT_OUT_OF_RANGE = "out-of-range"
export const FAULT_NOT_A_NUMBER = "not-a-number"
export const FAULT_STUCK = "stuck"

export interface Observation {
    /** The fixed-point value to record, or MISSING (the fault marker in the chain). */
    value: number | null
    /** The fault this reading is under, or null. */
    fault: string | null
    detail: string
    /** "begin" when a fault (or a different fault) starts, "end" when the sensor recovers. */
    event: "begin" | "end" | null
    /** The fault the event is about (the one that ended, for "end"). */
    eventFault: string
}

/**
 * Per-channel fault tracking: a read error, a missing sensor, a value out of the part's range
 * or not a number, or the same value `stuckAfter` times in a row, makes the reading MISSING
 * until the sensor gives a good, changed value again. Only transitions are events, so a sensor
 * that is gone for a day logs two lines, not 1,440.
 */
export class ChannelHealth {
    /** Current fault, null when healthy. */
    fault: string | null = null
    /** Readings recorded MISSING in the current fault. */
    faultyReadings = 0
    /** Faults begun and ended since start. */
    faultsBegun = 0
    faultsEnded = 0
    private last: number | null = MISSING
    private repeats = 0

    constructor(readonly channel: ChannelKind) {}

    /** A read that failed; `kind` is FAULT_MISSING or FAULT_READ_ERROR. */
    observeError(kind: string, detail: string): Observation {
        this.last = MISSING
        this.repeats = 0
        return this.enter(kind, detail)
    }

    /** A value the sensor returned, in the channel's unit. */
    observe(raw: number): Observation {
        const c = this.channel
        if (typeof raw !== "number" || !(raw === raw)) return this.observeError(FAULT_NOT_A_NUMBER, "value " + raw)
        if ((c.min !== undefined && raw < c.min) || (c.max !== undefined && raw > c.max))
            return this.observeError(FAULT_OUT_OF_RANGE, "value " + raw + " outside " + c.min + ".." + c.max)
        const value = toFixedPoint(raw, c.spec.exponent)
        if (value === MISSING) return this.observeError(FAULT_NOT_A_NUMBER, "value " + raw + " does not fit the fixed point")
        if (value === this.last) this.repeats++
        else {
            this.last = value
            this.repeats = 1
        }
        if (c.stuckAfter > 0 && this.repeats > c.stuckAfter)
            return this.enter(FAULT_STUCK, "value " + raw + " " + this.repeats + " times in a row")
        if (this.fault === null) return { value, fault: null, detail: "", event: null, eventFault: "" }
        const cleared = this.fault
        this.fault = null
        this.faultsEnded++
        return { value, fault: null, detail: this.faultyReadings + " readings missing", event: "end", eventFault: cleared }
    }

    private enter(kind: string, detail: string): Observation {
        const begins = this.fault !== kind
        if (begins) {
            this.fault = kind
            this.faultyReadings = 0
            this.faultsBegun++
        }
        this.faultyReadings++
        return { value: MISSING, fault: kind, detail, event: begins ? "begin" : null, eventFault: begins ? kind : "" }
    }
}

/** The console line for a fault event: `fl:fault channel=NAME kind=KIND state=begin|end detail=...`. */
export function faultLine(channelName: string, o: Observation): string {
    return formatFaultLine(channelName, o.eventFault, o.event, o.detail)
}
