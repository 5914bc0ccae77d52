/**
 * Power-loss fault injection, CI-sized: the simulated device is killed (SIGKILL) at random
 * seeded instants and restarted from its flash; everything it sealed must form one verifying
 * chain with no seq sealed twice and no kill losing more than one checkpoint interval; no
 * signing key ever signed two different checkpoints (checkRuns throws), and the chain verifies
 * publicly from pk_0 up to a signed checkpoint.
 * The full run: `npx fieldledger powercut --kills 200`.
 */
import { describe, expect, test } from "vitest"
import { HARNESS_CHECKPOINT_EVERY, powercut } from "../../tools/powercut"

const KILLS = Number(process.env.FIELDLEDGER_POWERCUT_KILLS ?? 6)

describe("power cuts in the simulator", () => {
    test(`${KILLS} random kills leave a complete, verifying chain`, async () => {
        const f = await powercut(KILLS, 7, 300, 2500, s => console.log("powercut: " + s))
        console.log(`powercut figures: ${JSON.stringify(f)}`)
        expect(f.kills).toBe(KILLS)
        expect(f.gapRecords).toBeGreaterThanOrEqual(KILLS)
        expect(f.maxLostPerKill).toBeLessThanOrEqual(HARNESS_CHECKPOINT_EVERY + 1)
        expect(f.readings).toBeGreaterThan(KILLS * 5)
        // The harness signs every 2 blocks: the kills met the signer, and its checkpoints verify.
        expect(f.signedCheckpoints).toBeGreaterThanOrEqual(1)
        expect(f.signedUpTo).toBeGreaterThan(0)
    }, 600000)
})
