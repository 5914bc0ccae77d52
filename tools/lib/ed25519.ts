/**
 * Ed25519 on the host through node:crypto (OpenSSL): the signature check the shared verifier
 * takes as a function (src/lib stays free of Node imports), and the signing-key evolution of
 * signed checkpoints for tests and generators (docs/FORMAT.md, "Checkpoint body").
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, KeyObject, sign, verify } from "node:crypto"
import { SIGN_EVOLVE_LABEL } from "../../src/lib/ledger/signedcheckpoint"

// DER prefixes of a raw 32-byte Ed25519 key (RFC 8410): PKCS#8 private key, SPKI public key.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex")
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex")

export function privateKeyFromSeed(seed: Buffer): KeyObject {
    if (seed.length !== 32) throw new RangeError("an Ed25519 seed is 32 bytes")
    return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" })
}

/** The 32-byte public key of a seed (RFC 8032 §5.1.5). */
export function publicKeyOf(seed: Buffer): Buffer {
    const der = createPublicKey(privateKeyFromSeed(seed)).export({ format: "der", type: "spki" })
    return Buffer.from(der.subarray(der.length - 32))
}

export function signWithSeed(seed: Buffer, message: Buffer): Buffer {
    return sign(null, message, privateKeyFromSeed(seed))
}

/** RFC 8032 verification of a raw 32-byte public key; false (never a throw) for a key that does not decode. */
export function verifyEd25519(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    try {
        const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" })
        return verify(null, message, key, signature)
    } catch {
        return false
    }
}

/** seed_(i+1) = HMAC-SHA256(seed_i, "fieldledger/v2/sign-evolve"). */
export function nextSigningSeed(seed: Buffer): Buffer {
    return createHmac("sha256", seed).update(SIGN_EVOLVE_LABEL).digest()
}

/**
 * A public key's fingerprint, what a person compares (provision --check, the dashboard,
 * verify): the first 8 bytes of SHA-256(publicKey) as 16 lower-case hex digits
 * (docs/PROVISIONING.md, "Signing key").
 */
export function publicKeyFingerprint(publicKey: Buffer): string {
    return createHash("sha256").update(publicKey).digest().subarray(0, 8).toString("hex")
}
