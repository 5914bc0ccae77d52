/**
 * K_0, the device's initial chain key, written by provisioning. An unprovisioned simulator
 * uses the public development key (src/lib/ledger/devkey.ts) so that `npm start` and the tests can
 * verify what it seals; on hardware an unprovisioned device seals under a random key nobody knows.
 */
import * as ds from "@devicescript/core"
import { randomBuffer } from "@devicescript/crypto"
import { SIMULATOR_DEV_KEY_HEX } from "../lib/ledger/devkey"
import { KEY_BYTES } from "../lib/codec/format"
import { warningLine } from "../lib/log/lines"

export async function loadDeviceKey(): Promise<Buffer> {
    if (ds.isSimulator()) {
        console.log(warningLine("simulator: sealing under the public development key"))
        return Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex")
    }
    console.log(warningLine("unprovisioned: sealing under a random key nobody else knows"))
    return randomBuffer(KEY_BYTES)
}
