/**
 * A log receipt: the gateway's signed promise, in the ack, that a block has its leaf at an index
 * (docs/API.md, "Log receipt"). A signed note under the log key whose first line,
 * "fieldledger/log-receipt/v1", can never be a checkpoint's origin line, so a receipt is never
 * mistaken for a checkpoint. Whoever keeps it can later ask for an inclusion proof of that
 * leaf, and show anyone the log's own signature if the leaf is missing or different.
 */
import { HASH_BYTES } from "../../lib/tlog/merkle"
import { NoteError, NoteSigner, NoteVerifier, openNote, signNote } from "../../lib/tlog/note"

export const RECEIPT_HEADER = "fieldledger/log-receipt/v1"

export interface Receipt {
    origin: string
    deviceId: string
    chain: number
    seq: number
    hash: Buffer
    index: number
}

export function receiptText(r: Receipt): string {
    return (
        [RECEIPT_HEADER, r.origin, r.deviceId + " " + r.chain + " " + r.seq + " " + r.hash.toString("base64"), String(r.index)].join("\n") +
        "\n"
    )
}

export function signReceipt(signer: NoteSigner, r: Receipt): string {
    return signNote(signer, receiptText(r))
}

export function openReceipt(note: string, verifier: NoteVerifier): Receipt {
    const lines = openNote(note, verifier).text.split("\n")
    const m = lines.length === 5 && lines[0] === RECEIPT_HEADER ? /^([0-9a-f]{16}) (\d{1,5}) (\d{1,10}) (\S{44})$/.exec(lines[2]) : null
    if (!m || !/^\d{1,16}$/.test(lines[3])) throw new NoteError("not a log receipt")
    const hash = Buffer.from(m[4], "base64")
    if (hash.length !== HASH_BYTES) throw new NoteError("a receipt's block hash is 32 bytes")
    return { origin: lines[1], deviceId: m[1], chain: Number(m[2]), seq: Number(m[3]), hash, index: Number(lines[3]) }
}
