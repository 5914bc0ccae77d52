/**
 * fieldledger firmware entry point: configuration and sensors, then the device's wiring
 * (src/device/device.ts): sensors -> ledger -> flash -> console.
 */
import { loadConfig } from "./device/config"
import { runDevice } from "./device/device"
import { waitForSensors } from "./sensing/sensors"
import { loadSensorConfig, startSensors } from "./sensing/sensorconfig"
import { warningLine } from "./lib/log/lines"

const config = await loadConfig()
const sensorConfig = await loadSensorConfig()
config.board = sensorConfig.board.id
const sources = startSensors(sensorConfig)
if (!(await waitForSensors(sources, 10000))) console.log(warningLine("some sensors did not answer within 10 s; sampling anyway"))
await runDevice({ config, sources })
