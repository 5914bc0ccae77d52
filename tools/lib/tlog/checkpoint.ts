/**
 * C2SP tlog-checkpoint note text (https://c2sp.org/tlog-checkpoint): origin, tree size in
 * decimal, root hash in base64, each on its own line. No extension lines: the signing time rides
 * in the log's timestamped signature (note.ts).
 */
import { HASH_BYTES } from "./merkle"
import { NoteError, NoteSigner, NoteVerifier, openNote, signNote } from "./note"

export interface Checkpoint {
    origin: string
    size: number
    root: Buffer
}

export interface SignedCheckpoint extends Checkpoint {
    /** Unix seconds of the log's timestamped signature. */
    time: number
    /** The signed note, as served. */
    note: string
}

export function checkpointText(c: Checkpoint): string {
    if (!(Number.isSafeInteger(c.size) && c.size >= 0)) throw new RangeError("tree size " + c.size)
    if (c.root.length !== HASH_BYTES) throw new RangeError("a root hash is 32 bytes")
    return c.origin + "\n" + c.size + "\n" + c.root.toString("base64") + "\n"
}

export function parseCheckpointText(text: string): Checkpoint {
    const lines = text.split("\n")
    if (lines.length < 4 || lines[lines.length - 1] !== "") throw new NoteError("a checkpoint is at least three lines")
    const [origin, size, root] = lines
    if (origin.length === 0) throw new NoteError("the checkpoint's origin is empty")
    if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size)))
        throw new NoteError("the checkpoint's tree size is not a decimal number")
    const rootBytes = Buffer.from(root, "base64")
    if (rootBytes.length !== HASH_BYTES || rootBytes.toString("base64") !== root)
        throw new NoteError("the checkpoint's root is not 32 bytes of base64")
    return { origin, size: Number(size), root: rootBytes }
}

export function signCheckpoint(signer: NoteSigner, c: Checkpoint, unixSeconds: number): SignedCheckpoint {
    const note = signNote(signer, checkpointText(c), unixSeconds)
    return { ...c, time: unixSeconds, note }
}

/**
 * Opens a signed checkpoint with the log's verifier key: the origin must be the key's name (the
 * gateway signs under its origin) and the timestamped signature must be there.
 */
export function openCheckpoint(note: string, verifier: NoteVerifier): SignedCheckpoint {
    const opened = openNote(note, verifier)
    const c = parseCheckpointText(opened.text)
    if (c.origin !== verifier.name)
        throw new NoteError("the checkpoint's origin " + JSON.stringify(c.origin) + " is not the log's " + JSON.stringify(verifier.name))
    if (opened.time === undefined) throw new NoteError("the checkpoint carries no timestamped signature of the log")
    return { ...c, time: opened.time, note }
}
