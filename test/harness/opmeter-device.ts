/**
 * Calibration: how many iterations of a counting loop fit one fiber run's op budget. Panics
 * on purpose (InfiniteLoop); the last fl:meter line is the count.
 */
import * as ds from "@devicescript/core"
import { describe, test } from "@devicescript/test"

describe("op meter", () => {
    test("loop until the budget runs out", async () => {
        await ds.sleep(0)
        let i = 0
        let x = 0
        for (;;) {
            i++
            x += i
            if ((i & 1023) === 0) console.log("fl:meter " + i)
        }
    })
})
