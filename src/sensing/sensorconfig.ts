/**
 * Which sensor this device reads: the FL_SENSOR setting, or the board's default (the board is
 * told apart by the runtime's archId; src/lib/sensors/sensorkinds.ts has the table), then the sources
 * that feed the ledger, as the kind's record says (src/sensing/sensordevices.ts).
 */
import * as ds from "@devicescript/core"
import { I2C } from "@devicescript/i2c"
import { readJsonSetting } from "../device/settingsstore"
import { SENSOR_SETTING } from "../lib/flash/keys"
import { startDriverSensors } from "./drivers"
import { FL_SENSOR } from "../lib/config/settings"
import { BoardProfile, boardForArch, selectSensor, SensorKind } from "../lib/sensors/sensorkinds"
import { ChannelSource } from "./sensors"
import { configLine, sensorLine } from "../lib/log/lines"

export interface SensorConfig {
    board: BoardProfile
    kind: SensorKind
}

export async function loadSensorConfig(): Promise<SensorConfig> {
    const board = boardForArch(ds._dcfgString("archId"), ds.isSimulator())
    const selection = selectSensor(await readJsonSetting<string>(FL_SENSOR.key, FL_SENSOR.hardware as string), board)
    if (selection.warning) console.log(configLine(selection.warning))
    console.log(
        sensorLine(
            "board=" + board.id + " sensor=" + selection.kind.id + " channels=" + selection.kind.channels.map(c => c.spec.name).join(",")
        )
    )
    return { board, kind: selection.kind }
}

/**
 * Starts the configured sensor; its channels are the ledger's (declared in the genesis block).
 * `bus` replaces the board's I2C bus (the device tests' fake bus).
 */
export function startSensors(config: SensorConfig, bus?: I2C): ChannelSource[] {
    return startDriverSensors(config.kind, bus)
}
