/**
 * The bytecode Ed25519 signer (src/lib/sign) on the device: RFC 8032 §7.1's public keys and
 * signatures byte for byte, each derived in bounded steps with a yield between them (a fiber
 * that ran a whole signature without one would die of InfiniteLoop), and SHA-512 of "abc".
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { publicKeyOf, signWith } from "../../src/lib/sign/ed25519"
import { Sha512Job } from "../../src/lib/sign/sha512"
import { RFC8032_VECTORS } from "../node/lib/sign/vectors"

function toHex(b: Buffer): string {
    return b.toString("hex")
}

/** SHA-512 a block per fiber run: a block is about 44,000 ops, a third of the budget. */
async function sha512Yielding(m: Buffer): Promise<Buffer> {
    const job = new Sha512Job(m)
    await ds.sleep(0)
    while (!job.step()) await ds.sleep(0)
    return job.digest()
}

describe("ed25519 in bytecode", () => {
    test("SHA-512 of abc (FIPS 180-2)", async () => {
        expect(toHex(await sha512Yielding(Buffer.from("abc")))).toBe(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
    })

    test("SHA-512 of 200 bytes (two blocks)", async () => {
        const m = Buffer.alloc(200)
        for (let i = 0; i < 200; i++) m[i] = i
        expect(toHex(await sha512Yielding(m))).toBe(
            "986058e9895e2c2ab8f9e8cbdf801db12a44842a56a91d5a4e87b1fc98b293722c4664142e42c3c551ff898646268cd92b84ed230b8c94bed7798d4f27cd7465"
        )
    })

    RFC8032_VECTORS.forEach(vector => {
        test("RFC 8032 " + vector.name, async () => {
            const seed = Buffer.from(vector.secretKey, "hex")
            const message = Buffer.from(vector.message, "hex")
            const pause = async () => await ds.sleep(0)
            const publicKey = await publicKeyOf(seed, pause)
            expect(toHex(publicKey)).toBe(vector.publicKey)
            expect(toHex(await signWith(seed, publicKey, message, pause))).toBe(vector.signature)
        })
    })
})
