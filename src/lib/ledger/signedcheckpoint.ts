/**
 * The signed checkpoint record (format v2, record type 3; docs/FORMAT.md, "Checkpoint body").
 * "Signed checkpoint", not "checkpoint": that word already names the open block's periodic
 * save to flash.
 *
 * Body: keyIndex varint || nextPublicKey (32 bytes) || signature (64 bytes). The signature is
 * Ed25519 (RFC 8032) by key keyIndex over
 *   M = "fieldledger/v2/checkpoint" || deviceId || link || content-before-signature,
 * the content being the header and the body up to the signature. The record is then tagged
 * and hashed like any v2 block (chain.ts).
 *
 * The device imports the writer, the reader (its chain store decodes what it commits) and the
 * message builder: this module stays that small. Verification lives in verify.ts, which the
 * device never imports.
 */
import { ByteReader, ByteWriter } from "../codec/bytes"
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
 * Writes the body; without `signature`, only the part before it (what M covers after the
 * header), so the content to sign and the sealed content come from the same writer. No length
 * checks here (device code is scarce): the chain store decodes every block strictly before it
 * commits it, and a key or signature of the wrong length does not decode.
 */
export function writeSignedCheckpointBody(w: ByteWriter, c: SignedCheckpoint) {
    w.varint(c.keyIndex).bytes(c.nextPublicKey)
    if (c.signature) w.bytes(c.signature)
}

/**
 * Reads the body (the caller checks that the tag follows it, as for every record). The key
 * index is any varint here: the verifier requires it to be the count of signed checkpoints
 * before it.
 */
export function readSignedCheckpointBody(r: ByteReader): SignedCheckpoint {
    return {
        keyIndex: r.varint("key index"),
        nextPublicKey: r.bytes(PUBLIC_KEY_BYTES, "next public key"),
        signature: r.bytes(SIGNATURE_BYTES, "signature"),
    }
}

const CHECKPOINT_LABEL_BYTES = Buffer.from(CHECKPOINT_LABEL)

/**
 * M = "fieldledger/v2/checkpoint" || deviceId || link || unsigned, `unsigned` being the record's
 * content before the signature and `link` the hash of the block before it (the same link its
 * tag input holds).
 */
export function signedCheckpointMessage(deviceId: Buffer, link: Buffer, unsigned: Buffer): Buffer {
    if (deviceId.length !== DEVICE_ID_BYTES || link.length !== LINK_BYTES) throw new RangeError("device id or link of the wrong length")
    const label = CHECKPOINT_LABEL_BYTES
    const m = Buffer.alloc(label.length + DEVICE_ID_BYTES + LINK_BYTES + unsigned.length)
    m.set(label, 0)
    m.set(deviceId, label.length)
    m.set(link, label.length + DEVICE_ID_BYTES)
    m.set(unsigned, label.length + DEVICE_ID_BYTES + LINK_BYTES)
    return m
}
