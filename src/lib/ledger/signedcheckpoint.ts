/**
 * The signed checkpoint record (format v2, record type 3; docs/FORMAT.md, "Checkpoint body").
 * "Signed checkpoint", not "checkpoint": that word already names the open block's periodic
 * save to flash.
 *
 * Body: keyIndex varint || nextPublicKey (32 bytes) || signature (64 bytes), written by
 * encodeContent and read by decodeContent in chain.ts (`BlockContent.checkpoint`,
 * `DecodedBlock.checkpoint`): inline there rather than in functions of their own, because the
 * firmware pays 16 bytes of its 64 KB function budget per function, and its chain store decodes
 * every block it commits. encodeContent without `signature` gives the content the signature
 * covers. The signature is Ed25519 (RFC 8032) by key keyIndex over
 *   M = "fieldledger/v2/checkpoint" || deviceId || link || content-before-signature,
 * the content being the header and the body up to the signature. The record is then tagged
 * and hashed like any v2 block.
 *
 * The device imports the message builder and the labels: this module stays that small.
 * Verification lives in signedverify.ts, which the device never imports.
 */
import { DEVICE_ID_BYTES, LINK_BYTES } from "../codec/format"

/** Domain label of the signed message M (ASCII, no terminator). */
export const CHECKPOINT_LABEL = "fieldledger/v2/checkpoint"
/** Domain label of the signing-seed evolution: seed_(i+1) = HMAC-SHA256(seed_i, this label). */
export const SIGN_EVOLVE_LABEL = "fieldledger/v2/sign-evolve"

export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64

export interface SignedCheckpoint {
    /** Which key signed: 0 = the key registered at provisioning, +1 per signed checkpoint of the chain. */
    keyIndex: number
    /** pk_(keyIndex + 1): the key the next signed checkpoint must verify under. */
    nextPublicKey: Buffer
    /** R || S; absent while building the content the signature covers. */
    signature?: Buffer
}

/**
 * M = "fieldledger/v2/checkpoint" || deviceId || link || unsigned, `unsigned` being the record's
 * content before the signature and `link` the hash of the block before it (the same link its
 * tag input holds). No length checks (device code): the device id and link come from the
 * chain's own state, and a verifier's from blocks it decoded.
 */
export function signedCheckpointMessage(deviceId: Buffer, link: Buffer, unsigned: Buffer): Buffer {
    // Encoded here, not once at load: a module-level buffer would cost every firmware image its
    // initialisation, and M is built once per signed checkpoint.
    const label = Buffer.from(CHECKPOINT_LABEL)
    const m = Buffer.alloc(label.length + DEVICE_ID_BYTES + LINK_BYTES + unsigned.length)
    m.set(label, 0)
    m.set(deviceId, label.length)
    m.set(link, label.length + DEVICE_ID_BYTES)
    m.set(unsigned, label.length + DEVICE_ID_BYTES + LINK_BYTES)
    return m
}
