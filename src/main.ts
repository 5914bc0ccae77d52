/**
 * fieldledger firmware entry point: configuration and sensors, then the device's wiring
 * (src/device.ts): sensors -> ledger -> flash -> console.
 */
import { loadConfig } from "./config"
import { runDevice } from "./device"
import { waitForSensors } from "./sensors"
import { startSimulatedSensors } from "./simsensors"

const config = await loadConfig()
const sources = startSimulatedSensors(1)
if (!(await waitForSensors(sources, 10000))) console.log("fl:warning some sensors did not answer within 10 s; sampling anyway")
await runDevice({ config, sources })
