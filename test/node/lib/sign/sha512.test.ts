/**
 * The bytecode SHA-512 (src/lib/sign/sha512.ts) against node:crypto on every length 0..300
 * (every padding case: one block, the length spilling into a second block, several blocks),
 * and the step-wise job against the one-shot wrapper.
 */
import "./hexshim"
import { createHash } from "node:crypto"
import { describe, expect, test } from "vitest"
import { ROUNDS_PER_STEP, sha512, Sha512Job, sha512Metered } from "../../../../src/lib/sign/sha512"

function pattern(length: number, seed: number): Buffer {
    return Buffer.from(Array.from({ length }, (_, i) => (i * 131 + seed * 17 + (i >> 3)) & 255))
}

describe("sha512", () => {
    test("FIPS 180-2 vectors", () => {
        expect(sha512(Buffer.from("abc")).toString("hex")).toBe(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
        expect(sha512(Buffer.alloc(0)).toString("hex")).toBe(
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        )
    })

    test("matches node:crypto on lengths 0..300", () => {
        for (let n = 0; n <= 300; n++) {
            const m = pattern(n, n)
            expect(sha512(m).toString("hex"), "length " + n).toBe(createHash("sha512").update(m).digest("hex"))
        }
    })

    test("matches node:crypto on all-0xff and long inputs", () => {
        for (const n of [127, 128, 129, 1000, 4096]) {
            const m = Buffer.alloc(n, 0xff)
            expect(sha512(m).toString("hex")).toBe(createHash("sha512").update(m).digest("hex"))
        }
    })

    test("the job takes 80 / ROUNDS_PER_STEP steps per block and gives the same digest", () => {
        const m = pattern(250, 3)
        const job = new Sha512Job(m)
        let steps = 1
        while (!job.step()) steps++
        expect(steps).toBe((3 * 80) / ROUNDS_PER_STEP) // 250 + 17 bytes of padding need three 128-byte blocks
        expect(job.digest().equals(sha512(m))).toBe(true)
        expect(job.step()).toBe(true)
    })

    test("the firmware's metered form gives the same digests, a spend before every ROUNDS_PER_STEP rounds", async () => {
        for (let n = 0; n <= 300; n += 7) {
            const m = Buffer.alloc(n, n & 255)
            let spends = 0
            const digest = await sha512Metered(
                m,
                async ops => {
                    expect(ops).toBe(13000)
                    spends++
                },
                13000
            )
            expect(digest.toString("hex"), "length " + n).toBe(createHash("sha512").update(m).digest("hex"))
            expect(spends).toBe((80 / ROUNDS_PER_STEP) * Math.floor((n + 17 + 127) / 128))
        }
    })
})
