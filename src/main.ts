/**
 * fieldledger firmware entry point: configuration and sensors, then the device's wiring
 * (src/device.ts): sensors -> ledger -> flash -> console.
 */
import { loadConfig } from "./config"
import { runDevice } from "./device"
import { waitForSensors } from "./sensors"
import { loadSensorConfig, startSensors } from "./sensorconfig"

const config = await loadConfig()
const sensorConfig = await loadSensorConfig()
config.board = sensorConfig.board.id
const sources = startSensors(sensorConfig)
if (!(await waitForSensors(sources, 10000))) console.log("fl:warning some sensors did not answer within 10 s; sampling anyway")
await runDevice({ config, sources })
