/**
 * The bytecode Ed25519 signer (src/lib/sign) against RFC 8032 §7.1 byte for byte, and against
 * node:crypto on random seeds and messages: the same public keys, and signatures node:crypto
 * verifies (Ed25519 is deterministic, so they are also the same bytes). Plus the bounded steps
 * (a pause between them) against the wrappers, and the pieces (field, scalar) against BigInt arithmetic.
 */
import "./hexshim"
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from "node:crypto"
import { describe, expect, test } from "vitest"
import { BASE_TABLE, BASE_TABLE_BYTES } from "../../../../src/lib/sign/basetable"
import { MIN_STEP_OPS, publicKeyFromSeed, publicKeyOf, sign, signWith, STEP_OPS } from "../../../../src/lib/sign/ed25519"
import { feFromBytes, feInvert, feNew, feToBytes } from "../../../../src/lib/sign/field"
import { feMul, feSqrTimes } from "../../../../src/lib/sign/fieldmul"
import { mulAddModL, reduceModL } from "../../../../src/lib/sign/scalar"
import { RFC8032_VECTORS, TEST_1024_MESSAGE_SHA256 } from "./vectors"

const P = 2n ** 255n - 19n
const L = 2n ** 252n + 27742317777372353535851937790883648493n

function toBig(b: Buffer): bigint {
    return BigInt("0x" + (Buffer.from(b).reverse().toString("hex") || "0"))
}
function toLe(v: bigint, n = 32): Buffer {
    return Buffer.from(v.toString(16).padStart(2 * n, "0"), "hex").reverse()
}

function nodePublicKey(seed: Buffer): Buffer {
    const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed])
    const pub = createPublicKey(createPrivateKey({ key: der, format: "der", type: "pkcs8" }))
    return Buffer.from(pub.export({ format: "jwk" }).x as string, "base64url")
}

function nodeVerifies(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKey.toString("base64url") }, format: "jwk" })
    return nodeVerify(null, message, key, signature)
}

function nodeSignature(seed: Buffer, message: Buffer): Buffer {
    const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed])
    return nodeSign(null, message, createPrivateKey({ key: der, format: "der", type: "pkcs8" }))
}

describe("RFC 8032 §7.1 test vectors", () => {
    test.each(RFC8032_VECTORS)("$name", async v => {
        const seed = Buffer.from(v.secretKey, "hex")
        const message = Buffer.from(v.message, "hex")
        const publicKey = await publicKeyFromSeed(seed)
        expect(publicKey.toString("hex")).toBe(v.publicKey)
        expect((await sign(seed, publicKey, message)).toString("hex")).toBe(v.signature)
        // the transcription, independently: node:crypto agrees with the vector
        expect(nodePublicKey(seed).toString("hex")).toBe(v.publicKey)
        expect(nodeVerifies(publicKey, message, Buffer.from(v.signature, "hex"))).toBe(true)
    })

    test("TEST 1024's message is the RFC's 1,023 bytes", () => {
        const m = Buffer.from(RFC8032_VECTORS[3].message, "hex")
        expect(m.length).toBe(1023)
        expect(createHash("sha256").update(m).digest("hex")).toBe(TEST_1024_MESSAGE_SHA256)
    })
})

describe("against node:crypto", () => {
    test("220 random seeds and messages: same public key, signature verifies and matches", async () => {
        for (let i = 0; i < 220; i++) {
            const seed = randomBytes(32)
            const message = randomBytes(i < 20 ? i : (i * 37) % 400)
            const publicKey = await publicKeyFromSeed(seed)
            expect(publicKey.equals(nodePublicKey(seed)), "seed " + seed.toString("hex")).toBe(true)
            const signature = await sign(seed, publicKey, message)
            expect(nodeVerifies(publicKey, message, signature), "seed " + seed.toString("hex")).toBe(true)
            expect(signature.equals(nodeSignature(seed, message))).toBe(true)
        }
    })

    test("edge seeds: all zero, all 0xff", async () => {
        for (const seed of [Buffer.alloc(32), Buffer.alloc(32, 0xff)]) {
            const publicKey = await publicKeyFromSeed(seed)
            expect(publicKey.equals(nodePublicKey(seed))).toBe(true)
            const m = Buffer.alloc(100, 7)
            expect(nodeVerifies(publicKey, m, await sign(seed, publicKey, m))).toBe(true)
        }
    })
})

describe("bounded steps", () => {
    /** A pause that counts the steps. */
    function counter() {
        const c = {
            steps: 0,
            pause: async (): Promise<void> => {
                c.steps++
            },
        }
        return c
    }

    test("give the same bytes as the wrappers, a pause between steps", async () => {
        const seed = createHash("sha256").update("job").digest()
        const message = Buffer.alloc(100, 0x5a)
        const key = counter()
        const publicKey = await publicKeyOf(seed, key.pause)
        expect(publicKey.equals(await publicKeyFromSeed(seed))).toBe(true)
        const signing = counter()
        const signature = await signWith(seed, publicKey, message, signing.pause)
        expect(signature.equals(await sign(seed, publicKey, message))).toBe(true)
        expect(key.steps).toBeGreaterThan(5)
        expect(signing.steps).toBeGreaterThan(key.steps)
        console.log(`steps: key ${key.steps}, sign ${signing.steps} (budget ${STEP_OPS} ops each)`)
    })

    test("a custom step budget gives the same bytes and fewer steps; one below the largest unit is refused", async () => {
        const seed = Buffer.alloc(32, 9)
        const message = Buffer.from("checkpoint")
        const big = counter()
        const publicKey = await publicKeyOf(seed, big.pause, 100000)
        expect(publicKey.equals(await publicKeyFromSeed(seed))).toBe(true)
        const usual = counter()
        await publicKeyOf(seed, usual.pause)
        expect(big.steps).toBeLessThan(usual.steps)
        expect((await signWith(seed, publicKey, message, async () => {}, MIN_STEP_OPS)).equals(await sign(seed, publicKey, message))).toBe(
            true
        )
        await expect(publicKeyOf(seed, async () => {}, MIN_STEP_OPS - 1)).rejects.toThrow()
        await expect(signWith(seed, publicKey, message, async () => {}, 1000)).rejects.toThrow()
    })

    test("reject wrong lengths", async () => {
        await expect(publicKeyOf(Buffer.alloc(31), async () => {})).rejects.toThrow()
        await expect(signWith(Buffer.alloc(32), Buffer.alloc(33), Buffer.alloc(0), async () => {})).rejects.toThrow()
    })
})

describe("pieces against BigInt", () => {
    const rand = (n: number) => randomBytes(n)

    test("field multiply, square, invert and encode", async () => {
        const a = feNew(),
            b = feNew(),
            o = feNew()
        const out = Buffer.alloc(32)
        for (let i = 0; i < 300; i++) {
            const x = rand(32),
                y = rand(32)
            if (i === 0) x.fill(0xff)
            feFromBytes(a, x, 0)
            feFromBytes(b, y, 0)
            const xv = toBig(x) & (2n ** 255n - 1n),
                yv = toBig(y) & (2n ** 255n - 1n)
            feMul(o, a, b)
            feToBytes(out, 0, o)
            expect(toBig(out)).toBe((xv * yv) % P)
            feSqrTimes(o, a, 1)
            feToBytes(out, 0, o)
            expect(toBig(out)).toBe((xv * xv) % P)
            feSqrTimes(o, a, 3)
            feToBytes(out, 0, o)
            expect(toBig(out)).toBe(xv ** 8n % P)
            if (i % 30 === 0 && xv % P !== 0n) {
                await feInvert(o, a, async () => {})
                feMul(o, o, a)
                feToBytes(out, 0, o)
                expect(toBig(out)).toBe(1n)
            }
        }
        // the values just below and above p encode canonically
        for (const v of [P - 1n, P, P + 1n, 2n ** 255n - 1n]) {
            feFromBytes(a, toLe(v), 0)
            feToBytes(out, 0, a)
            expect(toBig(out)).toBe(v % P)
        }
    })

    test("reduce mod L and multiply-add mod L", () => {
        for (let i = 0; i < 300; i++) {
            const h = rand(64)
            if (i === 0) h.fill(0xff)
            if (i === 1) h.fill(0)
            expect(toBig(reduceModL(h, 0, 64))).toBe(toBig(h) % L)
            const r = toLe(toBig(rand(32)) % L),
                k = toLe(toBig(rand(32)) % L),
                s = rand(32)
            if (i === 2) s.fill(0xff)
            expect(toBig(mulAddModL(r, k, s))).toBe((toBig(r) + toBig(k) * toBig(s)) % L)
        }
        for (const v of [L - 1n, L, L + 1n, 2n * L, 2n ** 256n - 1n]) expect(toBig(reduceModL(toLe(v), 0, 32))).toBe(v % L)
    })

    test("the table is the size it says", () => {
        expect(BASE_TABLE.length).toBe(BASE_TABLE_BYTES)
    })
})
