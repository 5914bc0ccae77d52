/**
 * K_0, the device's initial chain key, written by provisioning. An unprovisioned simulator
 * uses the public development key below so that `npm start` and the tests can verify what
 * it seals; on hardware an unprovisioned device seals under a random key nobody knows.
 */
import * as ds from "@devicescript/core"
import { randomBuffer } from "@devicescript/crypto"
import { KEY_BYTES } from "./lib/format"

/** Public, documented in docs/FORMAT.md; never used on hardware. */
export const SIMULATOR_DEV_KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

export async function loadDeviceKey(): Promise<Buffer> {
    if (ds.isSimulator()) {
        console.log("fl:warning simulator: sealing under the public development key")
        return Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex")
    }
    console.log("fl:warning unprovisioned: sealing under a random key nobody else knows")
    return randomBuffer(KEY_BYTES)
}
