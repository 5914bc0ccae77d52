/**
 * Seals a chain with the real firmware pipeline under the public development key and prints
 * every block; test/node/crossimpl.test.ts runs this file and verifies the printed blocks with
 * the Node verifier (@noble/hashes). That the two agree is the proof the implementations match.
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { printSealedBlock } from "../../src/blockprinter"
import { deviceCrypto } from "../../src/crypto"
import { startFirmware } from "../../src/firmware"
import { SIMULATOR_DEV_KEY_HEX } from "../../src/lib/devkey"
import { waitForSensors } from "../../src/sensors"
import { startSimulatedSensors } from "../../src/simsensors"
import { brokenChannel } from "./helpers/fakesensors"

describe("chain for the host verifier", () => {
    test("seals and prints blocks with simulated sensors and one failing channel", async () => {
        const sensors = startSimulatedSensors(3)
        expect(await waitForSensors(sensors, 5000)).toBe(true)
        sensors.push(brokenChannel("broken"))
        let count = 0
        const fw = startFirmware({
            crypto: deviceCrypto,
            deviceId: Buffer.from(ds.deviceIdentifier("self"), "hex"),
            key0: Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex"),
            firmwareVersion: "hostcheck",
            board: "simulator",
            boot: 0,
            ledger: { intervalMs: 50, maxBlockAgeMs: 1000 },
            sources: sensors,
            onSealed: b => {
                count++
                printSealedBlock(b)
            },
        })
        await ds.sleep(3000)
        fw.stop()
        const last = fw.ledger.sealOpen()
        if (last) printSealedBlock(last)
        console.log("fl:hostcheck device=" + ds.deviceIdentifier("self") + " blocks=" + (count + (last ? 1 : 0)))
        expect(count >= 3).toBe(true)
    })
})
