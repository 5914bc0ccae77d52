/**
 * fieldledger firmware entry point: wiring only. Sensors -> ledger -> sealed blocks -> sinks.
 */
import * as ds from "@devicescript/core"
import { printSealedBlock } from "./blockprinter"
import { FIRMWARE_VERSION, loadConfig } from "./config"
import { deviceCrypto } from "./crypto"
import { loadDeviceKey } from "./devicekey"
import { startFirmware } from "./firmware"
import { waitForSensors } from "./sensors"
import { startSimulatedSensors } from "./simsensors"

const config = await loadConfig()
const sources = startSimulatedSensors(1)
if (!(await waitForSensors(sources, 10000))) console.log("fl:warning some sensors did not answer within 10 s; sampling anyway")
startFirmware({
    crypto: deviceCrypto,
    deviceId: Buffer.from(ds.deviceIdentifier("self"), "hex"),
    key0: await loadDeviceKey(),
    firmwareVersion: FIRMWARE_VERSION,
    board: config.board,
    boot: 0,
    ledger: config.ledger,
    sources,
    onSealed: printSealedBlock,
})
