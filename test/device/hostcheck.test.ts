/**
 * Seals a chain with the real firmware pipeline under the public development key and prints
 * every block; test/node/crossimpl.test.ts runs this file and verifies the printed blocks with
 * the Node verifier (@noble/hashes). That the two agree is the proof the implementations match.
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { printSealedBlock } from "../../src/device/blockprinter"
import { deviceCrypto } from "../../src/device/crypto"
import { startFirmware } from "../../src/device/firmware"
import { newChainHead, SealedBlock } from "../../src/lib/ledger/chain"
import { Ledger } from "../../src/lib/ledger/ledger"
import { SIMULATOR_DEV_KEY_HEX } from "../../src/lib/ledger/devkey"
import { waitForSensors } from "../../src/sensing/sensors"
import { startSimulatedSensors } from "../../src/sensing/simsensors"
import { brokenChannel } from "./helpers/fakesensors"

describe("chain for the host verifier", () => {
    test("seals and prints blocks with simulated sensors and one failing channel", async () => {
        const sensors = startSimulatedSensors(3)
        expect(await waitForSensors(sensors, 5000)).toBe(true)
        sensors.push(brokenChannel("broken"))
        let count = 0
        const print = (b: SealedBlock) => {
            count++
            printSealedBlock(b)
        }
        const ledger = new Ledger(
            deviceCrypto,
            Buffer.from(ds.deviceIdentifier("self"), "hex"),
            sensors.map(s => s.spec),
            newChainHead(Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex")),
            {
                intervalMs: 50,
                maxBlockAgeMs: 1000,
            }
        )
        print(ledger.sealGenesis({ boot: 0, uptimeMs: ds.millis() }, "hostcheck", "simulator"))
        const fw = startFirmware({ ledger, boot: 0, intervalMs: 50, sources: sensors, onSealed: async sealed => sealed.forEach(print) })
        await ds.sleep(3000)
        fw.stop()
        const last = fw.ledger.sealOpen()
        if (last) print(last)
        console.log("fl:hostcheck device=" + ds.deviceIdentifier("self") + " blocks=" + count)
        expect(count >= 3).toBe(true)
    })
})
