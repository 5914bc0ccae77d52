/**
 * The signing state of the signed checkpoints in flash (SIGN_STATE_KEY, docs/SIGNING.md):
 * keyIndex (u32, as ByteWriter writes it) || seed_keyIndex (32 bytes) || pk_keyIndex (32 bytes).
 *
 * Forward security: after signed checkpoint keyIndex is stored, the state advances to
 * seed_(keyIndex + 1) = HMAC-SHA256(seed_keyIndex, SIGN_EVOLVE_LABEL), overwriting the old seed.
 */
import { ByteReader, ByteWriter, wipe } from "../codec/bytes"
import { SIGN_STATE_KEY } from "../flash/keys"
import { KeyValueStore, writeVerified } from "../flash/verified"
import { SIGN_EVOLVE_LABEL } from "../ledger/signedcheckpoint"
import { LedgerCrypto } from "../ledger/keys"

export interface SigningState {
    keyIndex: number
    seed: Buffer
    publicKey: Buffer
}

/** The state in flash, or undefined when there is none or it is not 68 bytes (a new one is made). */
export async function readSigningState(kv: KeyValueStore): Promise<SigningState | undefined> {
    const b = await kv.get(SIGN_STATE_KEY)
    if (!b || b.length !== 68) return undefined
    const r = new ByteReader(b, "signing state")
    return { keyIndex: r.u32("key index"), seed: r.bytes(32, "seed"), publicKey: r.bytes(32, "public key") }
}

export async function writeSigningState(kv: KeyValueStore, s: SigningState) {
    const b = new ByteWriter().u32(s.keyIndex).bytes(s.seed).bytes(s.publicKey).finish()
    await writeVerified(kv, SIGN_STATE_KEY, b)
    wipe(b)
}

/** seed_(i+1) from seed_i: one way, so a captured device cannot sign for an index before its own. */
export function nextSeed(crypto: LedgerCrypto, seed: Buffer): Buffer {
    return crypto.hmacSha256(seed, Buffer.from(SIGN_EVOLVE_LABEL))
}
