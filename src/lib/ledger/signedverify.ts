/**
 * Public verification of signed checkpoints (docs/FORMAT.md, "Verifying signed checkpoints"):
 * follows the certified keys from pk_0, the key registered at provisioning. Signed checkpoint
 * i must carry keyIndex i and verify under pk_i; it certifies pk_(i+1). Every block up to the
 * last verified signed checkpoint is then publicly verified, without K_0: its signature covers
 * the link, the hash of the whole chain before it, which the verifier recomputes from the
 * genesis link forward.
 *
 * Pure: the Ed25519 check is injected (node:crypto on the host), so the device never links it
 * and src/lib keeps no Node import. The gateway keeps one SigningState per device between
 * batches; verifyChain runs it over a whole list.
 */
import { copyBytes } from "../codec/bytes"
import { RECORD_CHECKPOINT } from "../codec/format"
import { DecodedBlock } from "./chain"
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, signedCheckpointMessage } from "./signedcheckpoint"

/** RFC 8032 Ed25519 verification of `signature` on `message` under a raw 32-byte public key. */
export type SignatureCheck = (publicKey: Buffer, message: Buffer, signature: Buffer) => boolean

/** What a public verifier carries from one block to the next. Plain data. */
export interface SigningState {
    /** The key index the next signed checkpoint must carry. */
    keyIndex: number
    /** pk_keyIndex, the key it must verify under; undefined once the certified keys broke (see `broken`). */
    publicKey?: Buffer
    /** Seq of the last verified signed checkpoint: every block up to it is publicly verified. -1: none yet. */
    signedSeq: number
    /** Blocks were declared dropped after `signedSeq`: a signed checkpoint may have been among them. */
    dropped: boolean
    /** Why no later checkpoint can be checked (a certifying checkpoint was dropped); absent while intact. */
    broken?: string
}

export function initialSigningState(publicKey0: Buffer): SigningState {
    if (!publicKey0 || publicKey0.length !== PUBLIC_KEY_BYTES) throw new RangeError("a public key is " + PUBLIC_KEY_BYTES + " bytes")
    return { keyIndex: 0, publicKey: publicKey0, signedSeq: -1, dropped: false }
}

export function copySigningState(s: SigningState): SigningState {
    const out: SigningState = { keyIndex: s.keyIndex, signedSeq: s.signedSeq, dropped: s.dropped }
    if (s.publicKey) out.publicKey = s.publicKey
    if (s.broken !== undefined) out.broken = s.broken
    return out
}

export interface SignedCheck {
    ok: boolean
    /** "checkpoint-key" (a key index other than the count before it) or "signature". */
    code?: string
    reason?: string
    /** The state after the block (on failure: unchanged). */
    state: SigningState
}

/**
 * Checks one accepted block of the chain (in chain order): `link` is the link its hash and
 * tag were computed with (BlockCheck.link), `skipped` whether seqs were declared dropped just
 * before it. A block other than a signed checkpoint only moves the state on a drop.
 */
export function checkSigned(
    verify: SignatureCheck,
    deviceId: Buffer,
    s: SigningState,
    block: DecodedBlock,
    link: Buffer,
    skipped: boolean
): SignedCheck {
    const next = copySigningState(s)
    if (skipped) next.dropped = true
    if (block.header.type !== RECORD_CHECKPOINT) return { ok: true, state: next }
    const c = block.checkpoint
    const seq = block.header.seq
    const fail = (code: string, reason: string): SignedCheck => ({ ok: false, code, reason, state: s })
    if (c.keyIndex < next.keyIndex)
        return fail("checkpoint-key", "signed checkpoint at seq " + seq + " has key index " + c.keyIndex + ", expected " + next.keyIndex)
    if (c.keyIndex > next.keyIndex) {
        // Only a declared drop can have taken the checkpoints between: then pk_(keyIndex) is gone
        // with them and nothing after can be checked; without one it is a forgery or a bug.
        if (!next.dropped)
            return fail(
                "checkpoint-key",
                "signed checkpoint at seq " +
                    seq +
                    " has key index " +
                    c.keyIndex +
                    ", expected " +
                    next.keyIndex +
                    " (no blocks dropped since)"
            )
        if (next.broken === undefined)
            next.broken =
                "signed checkpoint " +
                next.keyIndex +
                " was among blocks dropped on the device: keys from pk_" +
                (next.keyIndex + 1) +
                " on are not certified"
        next.publicKey = undefined
    }
    if (next.publicKey) {
        const unsigned = copyBytes(block.content, 0, block.content.length - SIGNATURE_BYTES)
        if (!verify(next.publicKey, signedCheckpointMessage(deviceId, link, unsigned), c.signature))
            return fail("signature", "signed checkpoint at seq " + seq + ": the signature does not verify under pk_" + c.keyIndex)
        next.publicKey = c.nextPublicKey
        next.signedSeq = seq
        next.dropped = false
    }
    next.keyIndex = c.keyIndex + 1
    return { ok: true, state: next }
}
