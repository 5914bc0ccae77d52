/**
 * Seals an encrypted chain with the real firmware pipeline (the Ledger's head carrying a data
 * key D_0, as a chain provisioned with --encrypt has) under the public development key, and
 * prints every block; test/node/crossimpl.test.ts decrypts and verifies them on Node
 * (node:crypto AES-256-CTR, @noble/hashes), the proof that the device's native AES-256-CCM with
 * tag length 0 and the host agree on live blocks, not only on the golden vectors.
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

/** The data key of this check; test/node/crossimpl.test.ts holds the same. */
const DATA_KEY0 = hex`d1a7a0c0ffee00112233445566778899aabbccddeeff00112233445566778899`

describe("encrypted chain for the host verifier", () => {
    test("seals and prints encrypted blocks with simulated sensors and one failing channel", async () => {
        const sensors = startSimulatedSensors(3)
        expect(await waitForSensors(sensors, 5000)).toBe(true)
        sensors.push(brokenChannel("broken"))
        let count = 0
        const print = (b: SealedBlock) => {
            count++
            printSealedBlock(b)
        }
        const head = newChainHead(Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex"))
        head.dataKey = DATA_KEY0
        const ledger = new Ledger(
            deviceCrypto,
            Buffer.from(ds.deviceIdentifier("self"), "hex"),
            sensors.map(s => s.spec),
            head,
            { intervalMs: 50, maxBlockAgeMs: 1000 }
        )
        print(ledger.sealGenesis({ boot: 0, uptimeMs: ds.millis() }, "encryptedcheck", "simulator"))
        const fw = startFirmware({ ledger, boot: 0, intervalMs: 50, sources: sensors, onSealed: async sealed => sealed.forEach(print) })
        await ds.sleep(3000)
        fw.stop()
        const last = fw.ledger.sealOpen()
        if (last) print(last)
        console.log("fl:hostcheck device=" + ds.deviceIdentifier("self") + " blocks=" + count)
        expect(count >= 3).toBe(true)
    })
})
