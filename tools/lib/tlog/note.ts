/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys (signature type 0x01), and
 * the log's own timestamped signature in the tlog-cosignature form (type 0x04,
 * https://c2sp.org/tlog-cosignature): "cosignature/v1\ntime T\n" || note text, so a checkpoint
 * carries when it was signed without an extension line. Both under one key, told apart by the
 * type byte in the key ID; a verifier that knows only the 0x01 key ignores the other line.
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject, sign, verify } from "node:crypto"

export const SIG_ED25519 = 0x01
export const SIG_COSIGNATURE_V1 = 0x04
const ED25519_PUBLIC_BYTES = 32
const ED25519_SIGNATURE_BYTES = 64
/** Bytes of a note we read at most (the spec asks verifiers to bound notes; 16 signatures fit). */
export const MAX_NOTE_BYTES = 16384
const MAX_SIGNATURES = 32
/** RFC 8410 SubjectPublicKeyInfo prefix of an Ed25519 public key. */
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex")
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex")

export class NoteError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "NoteError"
    }
}

/** A key name: non-empty, no Unicode space, no "+". */
export function checkKeyName(name: string): void {
    if (typeof name !== "string" || name.length === 0 || /[\s+]/u.test(name) || /[\u0000-\u001f]/.test(name))
        throw new NoteError("a key name must be non-empty, without spaces or '+': " + JSON.stringify(name))
}

/** key ID = SHA-256(name || 0x0A || type || public key)[:4], big-endian. */
export function keyId(name: string, type: number, publicKey: Buffer): number {
    return createHash("sha256")
        .update(name + "\n")
        .update(Buffer.from([type]))
        .update(publicKey)
        .digest()
        .readUInt32BE(0)
}

export interface NoteSigner {
    name: string
    publicKey: Buffer
    /** The signature-line value before base64: key ID || signature of `message`. */
    sign(text: string, unixSeconds?: number): string[]
}

/** An Ed25519 log key from its 32-byte seed. */
export function ed25519FromSeed(seed: Buffer): { privateKey: KeyObject; publicKey: Buffer } {
    if (seed.length !== 32) throw new NoteError("an Ed25519 seed is 32 bytes")
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" })
    const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" }) as Buffer
    return { privateKey, publicKey: spki.subarray(spki.length - ED25519_PUBLIC_BYTES) }
}

function publicKeyObject(raw: Buffer): KeyObject {
    return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" })
}

function cosignedMessage(text: string, time: number): Buffer {
    return Buffer.from("cosignature/v1\ntime " + time + "\n" + text)
}

/**
 * A signer of notes with the log key: the plain Ed25519 signature line and, when a time is
 * given, the timestamped one (both lines carry the same name).
 */
export function noteSigner(name: string, seed: Buffer): NoteSigner {
    checkKeyName(name)
    const { privateKey, publicKey } = ed25519FromSeed(seed)
    const idPlain = keyId(name, SIG_ED25519, publicKey)
    const idTimed = keyId(name, SIG_COSIGNATURE_V1, publicKey)
    return {
        name,
        publicKey,
        sign(text: string, unixSeconds?: number): string[] {
            const lines: string[] = []
            const head = Buffer.alloc(4)
            head.writeUInt32BE(idPlain)
            lines.push(signatureLine(name, Buffer.concat([head, sign(null, Buffer.from(text), privateKey)])))
            if (unixSeconds !== undefined) {
                const h = Buffer.alloc(12)
                h.writeUInt32BE(idTimed)
                h.writeBigUInt64BE(BigInt(unixSeconds), 4)
                lines.push(signatureLine(name, Buffer.concat([h, sign(null, cosignedMessage(text, unixSeconds), privateKey)])))
            }
            return lines
        },
    }
}

function signatureLine(name: string, value: Buffer): string {
    return "\u2014 " + name + " " + value.toString("base64") + "\n"
}

/** text || "\n" || signature lines. `text` ends with a newline. */
export function signNote(signer: NoteSigner, text: string, unixSeconds?: number): string {
    checkNoteText(text)
    return text + "\n" + signer.sign(text, unixSeconds).join("")
}

function checkNoteText(text: string): void {
    if (!text.endsWith("\n")) throw new NoteError("a note's text ends with a newline")
    if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new NoteError("a note holds no control character but newline")
}

/** A verifier key, "<name>+<key ID, 8 hex digits>+<base64(0x01 || public key)>" (the vkey form of signed-note). */
export function verifierKey(name: string, publicKey: Buffer): string {
    const id = keyId(name, SIG_ED25519, publicKey).toString(16).padStart(8, "0")
    return name + "+" + id + "+" + Buffer.concat([Buffer.from([SIG_ED25519]), publicKey]).toString("base64")
}

export interface NoteVerifier {
    name: string
    publicKey: Buffer
}

/** Parses a verifier key (throws NoteError naming what is wrong). */
export function parseVerifierKey(vkey: string): NoteVerifier {
    // The name holds no "+"; the base64 may.
    const m = typeof vkey === "string" ? /^([^+]+)\+([^+]*)\+(.*)$/.exec(vkey.trim()) : null
    if (!m) throw new NoteError("a verifier key is NAME+KEYID+BASE64")
    const [, name, idHex, b64] = m
    checkKeyName(name)
    if (!/^[0-9a-f]{8}$/.test(idHex)) throw new NoteError("the verifier key's ID is not 8 hex digits")
    const raw = Buffer.from(b64, "base64")
    if (raw.toString("base64") !== b64 || raw.length !== 1 + ED25519_PUBLIC_BYTES || raw[0] !== SIG_ED25519)
        throw new NoteError("the verifier key is not an Ed25519 key (type 0x01, 32 bytes)")
    const publicKey = raw.subarray(1)
    if (keyId(name, SIG_ED25519, publicKey) !== parseInt(idHex, 16)) throw new NoteError("the verifier key's ID does not match its key")
    return { name, publicKey }
}

export interface VerifiedNote {
    text: string
    /** The time of the log's timestamped signature, when the note carries a valid one. */
    time?: number
}

/**
 * Opens a signed note with one trusted key: the text when a signature line of that key (name and
 * ID) verifies, else NoteError. Signatures of other keys are ignored, as the spec says; a
 * signature of this key that fails rejects the note.
 */
export function openNote(note: string, verifier: NoteVerifier): VerifiedNote {
    if (typeof note !== "string" || Buffer.byteLength(note) > MAX_NOTE_BYTES)
        throw new NoteError("a note is text of at most " + MAX_NOTE_BYTES + " bytes")
    const split = note.lastIndexOf("\n\n")
    if (split < 0) throw new NoteError("the note has no blank line before its signatures")
    const text = note.slice(0, split + 1)
    checkNoteText(text)
    const sigLines = note.slice(split + 2)
    if (!sigLines.endsWith("\n")) throw new NoteError("the note's last signature line has no newline")
    const lines = sigLines.slice(0, -1).split("\n")
    if (lines.length > MAX_SIGNATURES) throw new NoteError("the note has more than " + MAX_SIGNATURES + " signatures")
    const key = publicKeyObject(verifier.publicKey)
    const idPlain = keyId(verifier.name, SIG_ED25519, verifier.publicKey)
    const idTimed = keyId(verifier.name, SIG_COSIGNATURE_V1, verifier.publicKey)
    let verified = false
    let time: number | undefined
    for (const line of lines) {
        const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line)
        if (!m) throw new NoteError("not a signature line: " + JSON.stringify(line.slice(0, 80)))
        if (m[1] !== verifier.name) continue
        const value = Buffer.from(m[2], "base64")
        if (value.length < 4) throw new NoteError("a signature line too short")
        const id = value.readUInt32BE(0)
        if (id === idPlain) {
            if (value.length !== 4 + ED25519_SIGNATURE_BYTES || !verify(null, Buffer.from(text), key, value.subarray(4)))
                throw new NoteError("the signature of " + verifier.name + " does not verify")
            verified = true
        } else if (id === idTimed) {
            if (value.length !== 12 + ED25519_SIGNATURE_BYTES) throw new NoteError("a timestamped signature of the wrong length")
            const t = value.readBigUInt64BE(4)
            if (t > BigInt(Number.MAX_SAFE_INTEGER)) throw new NoteError("a timestamp out of range")
            if (!verify(null, cosignedMessage(text, Number(t)), key, value.subarray(12)))
                throw new NoteError("the timestamped signature of " + verifier.name + " does not verify")
            time = Number(t)
        }
    }
    if (!verified) throw new NoteError("the note carries no signature of " + verifier.name)
    return time === undefined ? { text } : { text, time }
}
