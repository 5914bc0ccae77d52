/**
 * `fieldledger verify --public-key`: a chain checked with only the device's public key, as a
 * user runs it (the bin script, a real process).
 */
import { join } from "node:path"
import { describe, expect, test } from "vitest"
import { formatExport } from "../../../tools/lib/exportfile"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { publicKeyFingerprint, publicKeyOf } from "../../../tools/lib/ed25519"
import { buildChain, DEVICE_ID } from "../helpers/chains"
import { alteredDataContent, buildSignedChain, resealWithKey0 } from "../helpers/signedchains"
import { runVerify, scratchFiles } from "./verifycli"

const { dir, file } = scratchFiles("fieldledger-verify-signed-")
const run = runVerify
const chain = buildSignedChain(nodeCrypto, { dataBlocks: 8, signEvery: 3 })
const blocks = chain.blocks.map(b => b.bytes)
const PUB = chain.publicKey0.toString("hex")
const FINGERPRINT = publicKeyFingerprint(chain.publicKey0)

const good = file("signed.json", formatExport({ deviceId: DEVICE_ID, blocks }))

describe("fieldledger verify --public-key", () => {
    test("without K_0: publicly verified up to the last signed checkpoint, the unsigned tail apart (exit 0)", () => {
        const r = run(good, "--public-key", PUB)
        expect(r.code).toBe(0)
        expect(r.out).toContain("pubkey    pk_0 " + FINGERPRINT + " from --public-key")
        expect(r.out).toContain("signed    publicly verified up to seq 8 (2 signed checkpoints")
        expect(r.out).toContain("unsigned  seq 9..10 (2 blocks) after the last signed checkpoint: not publicly verified")
        expect(r.out).toContain("PUBLICLY VALID up to seq 8")
    })

    test("the key from a file, with K_0 too: tags and signatures both checked; JSON carries the signed summary", () => {
        const r = run(good, "--public-key", file("pub", PUB + "\n"), "--key", chain.key0.toString("hex"), "--json")
        expect(r.code).toBe(0)
        const report = JSON.parse(r.out)
        expect(report.summary.authenticated).toBe(true)
        expect(report.summary.signed).toMatchObject({ verifiedTo: 8, unsignedFrom: 9, unsignedTo: 10 })
        expect(report.publicKey).toEqual({ from: "option", fingerprint: FINGERPRINT })
    })

    test("a chain altered and re-sealed under K_0 is rejected from the first signed checkpoint after the altered block (exit 1)", () => {
        const forged = resealWithKey0(nodeCrypto, blocks, 6, alteredDataContent(nodeCrypto, blocks, 6), chain.key0)
        const path = file("forged.json", formatExport({ deviceId: DEVICE_ID, blocks: forged }))
        expect(run(path, "--key", chain.key0.toString("hex")).code).toBe(0) // K_0 alone cannot tell
        const r = run(path, "--public-key", PUB)
        expect(r.code).toBe(1)
        expect(r.out).toContain("signed    publicly verified up to seq 4")
        expect(r.out).toMatch(/INVALID at block index 8 \(seq 8\): .*signature does not verify under pk_1 \[signature\]/)
    })

    test("the file's own public keys are used when none is given, and the report says they vouch for nothing", () => {
        const path = file("with-keys.json", formatExport({ deviceId: DEVICE_ID, blocks, publicKeys: [chain.publicKey0] }))
        const r = run(path)
        expect(r.code).toBe(0)
        expect(r.out).toContain("from the file itself: whoever wrote the file chose it")
        expect(r.out).toContain("publicly verified up to seq 8")
    })

    test("a file naming another pk_0 than --public-key is pointed out", () => {
        const other = publicKeyOf(Buffer.alloc(32, 4))
        const path = file("other-key.json", formatExport({ deviceId: DEVICE_ID, blocks, publicKeys: [other] }))
        const r = run(path, "--public-key", PUB)
        expect(r.code).toBe(0)
        expect(r.out).toContain("the file names another pk_0 (" + publicKeyFingerprint(other) + ")")
    })

    test("a v1 chain is reported honestly: nothing publicly verified", () => {
        const v1 = buildChain(nodeCrypto, { formatVersion: 1 }).blocks.map(b => b.bytes)
        const r = run(file("v1.json", formatExport({ deviceId: DEVICE_ID, blocks: v1 })), "--public-key", PUB)
        expect(r.code).toBe(0)
        expect(r.out).toContain("NOTHING publicly verified: the chain has no signed checkpoint")
        expect(r.out).toContain("STRUCTURE VALID")
    })

    test("without any public key the report says signatures were not checked", () => {
        expect(run(good).out).toContain("signatures NOT checked")
    })

    test("a --public-key that is neither 64 hex digits nor a readable file is a usage error (exit 2)", () => {
        const r = run(good, "--public-key", join(dir, "no-such-file"))
        expect(r.code).toBe(2)
        expect(r.err).toContain("--public-key")
    })
})
