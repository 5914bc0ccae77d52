/**
 * Signed checkpoints on the device, for `npm run bench` (tools/bench/signing.ts): the firmware's
 * sampler (src/sensing/sampler.ts) runs a 1 s loop while the signer's work for a checkpoint runs
 * on another fiber exactly as src/device/signer.ts does it (derive pk_(i+1) from seed_(i+1),
 * then sign a checkpoint-sized message with (seed_i, pk_i), yielding between bounded steps).
 *
 * Prints `fl:bench sign ms=M` per checkpoint (VM ms: the VM clock advances across yields),
 * `fl:bench jitter idle=A signing=B` (worst lateness, ms, of the 1 s loop's ticks before any
 * signing and while signing), `fl:bench steps=N` per checkpoint.
 *     devs run test/harness/signing-device.ts --test --test-self-exit -T 300000
 */
import * as ds from "@devicescript/core"
import { describe, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { publicKeyOf, signWith } from "../../src/lib/sign/ed25519"
import { nextSeed } from "../../src/lib/store/signingstate"
import { startSampler } from "../../src/sensing/sampler"

const CHECKPOINTS = 5
/** A signed checkpoint's message: label 25 + device id 8 + link 32 + header ~25 + key index 1 + next key 32. */
const MESSAGE_BYTES = 123

describe("signing harness", () => {
    test("checkpoints while a 1 s sampler runs", async () => {
        let worst = 0
        const sampler = startSampler({
            intervalMs: 1000,
            onSample: async slot => {
                const late = ds.millis() - slot
                if (late > worst) worst = late
            },
        })
        await ds.sleep(5500)
        const idle = worst
        worst = 0
        let steps = 0
        const pause = async () => {
            steps++
            await ds.sleep(0)
        }
        let seed = Buffer.alloc(32)
        for (let i = 0; i < 32; i++) seed[i] = i
        let publicKey = await publicKeyOf(seed, pause)
        const message = Buffer.alloc(MESSAGE_BYTES)
        for (let c = 0; c < CHECKPOINTS; c++) {
            steps = 0
            const t0 = ds.millis()
            const next = nextSeed(deviceCrypto, seed)
            const nextKey = await publicKeyOf(next, pause)
            message[0] = c
            const signature = await signWith(seed, publicKey, message, pause)
            console.log("fl:bench sign ms=" + (ds.millis() - t0) + " steps=" + steps + " sig=" + signature.toString("hex").slice(0, 16))
            seed = next
            publicKey = nextKey
            // Back to back, with a yield: the sampler ticks land inside signing work.
            await ds.sleep(0)
        }
        sampler.stop()
        console.log("fl:bench jitter idle=" + idle + " signing=" + worst)
    })
})
