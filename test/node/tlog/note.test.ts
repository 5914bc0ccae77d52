/**
 * Signed notes and checkpoints (tools/lib/tlog/note.ts, checkpoint.ts): the signed-note test
 * vector of Go's golang.org/x/mod/sumdb/note (a key, its verifier key and a note signed by it),
 * round trips, and every alteration refused.
 */
import { describe, expect, it } from "vitest"
import { checkpointText, openCheckpoint, parseCheckpointText, signCheckpoint } from "../../../tools/lib/tlog/checkpoint"
import {
    ed25519FromSeed,
    keyId,
    NoteError,
    noteSigner,
    openNote,
    parseVerifierKey,
    SIG_ED25519,
    signNote,
    verifierKey,
} from "../../../tools/lib/tlog/note"

// golang.org/x/mod/sumdb/note's example key and note.
const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
const GO_SKEY_SEED = Buffer.from("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "base64").subarray(1)
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
const GO_SIGNED =
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

describe("signed notes", () => {
    it("agree with Go's sumdb/note: key ID, verifier key and the Ed25519 signature line", () => {
        const { publicKey } = ed25519FromSeed(GO_SKEY_SEED)
        expect(verifierKey("PeterNeumann", publicKey)).toBe(GO_VKEY)
        expect(keyId("PeterNeumann", SIG_ED25519, publicKey).toString(16)).toBe("c74f20a3")
        expect(signNote(noteSigner("PeterNeumann", GO_SKEY_SEED), GO_TEXT)).toBe(GO_SIGNED)
        expect(openNote(GO_SIGNED, parseVerifierKey(GO_VKEY))).toEqual({ text: GO_TEXT })
    })

    it("refuse an altered text, signature, a missing signature, and bad verifier keys; ignore other keys' lines", () => {
        const v = parseVerifierKey(GO_VKEY)
        expect(() => openNote(GO_SIGNED.replace("answer", "Answer"), v)).toThrow(/does not verify/)
        expect(() => openNote(GO_SIGNED.replace("x08go", "x08gp"), v)).toThrow(NoteError)
        expect(() => openNote(GO_TEXT + "\n", v)).toThrow(NoteError)
        const other = noteSigner("someone.example/log", Buffer.alloc(32, 7))
        expect(() => openNote(signNote(other, GO_TEXT), v)).toThrow(/no signature of PeterNeumann/)
        // A line of another key is skipped, the known one still verifies.
        const both = GO_SIGNED + other.sign(GO_TEXT).join("")
        expect(openNote(both, v).text).toBe(GO_TEXT)
        for (const bad of ["PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "Peter Neumann+c74f20a3+AA==", "x+y", ""])
            expect(() => parseVerifierKey(bad), bad).toThrow(NoteError)
    })
})

describe("checkpoints", () => {
    const seed = Buffer.alloc(32, 3)
    const signer = noteSigner("fieldledger.test/log", seed)
    const v = parseVerifierKey(verifierKey(signer.name, signer.publicKey))
    const root = Buffer.alloc(32, 9)

    it("are the tlog-checkpoint text, signed plainly and with a timestamp, and open to the same fields", () => {
        const c = signCheckpoint(signer, { origin: "fieldledger.test/log", size: 1234, root }, 1764892800)
        expect(c.note.startsWith("fieldledger.test/log\n1234\n" + root.toString("base64") + "\n\n\u2014 fieldledger.test/log ")).toBe(true)
        expect(c.note.split("\n\u2014 ").length).toBe(3)
        const opened = openCheckpoint(c.note, v)
        expect([opened.size, opened.root.equals(root), opened.time, opened.origin]).toEqual([
            1234,
            true,
            1764892800,
            "fieldledger.test/log",
        ])
        // A verifier that knows only the plain Ed25519 key reads it too (the timestamped line is another key ID).
        expect(openNote(c.note, v).text).toBe(checkpointText(c))
    })

    it("refuse a changed size, root or time, and malformed text", () => {
        const c = signCheckpoint(signer, { origin: "fieldledger.test/log", size: 5, root }, 100)
        expect(() => openCheckpoint(c.note.replace("\n5\n", "\n6\n"), v)).toThrow(/does not verify/)
        const lines = c.note.split("\n")
        // The timestamped signature with another time inside.
        const timed = Buffer.from(lines[lines.length - 2].split(" ")[2], "base64")
        timed.writeBigUInt64BE(101n, 4)
        lines[lines.length - 2] = "\u2014 fieldledger.test/log " + timed.toString("base64")
        expect(() => openCheckpoint(lines.join("\n"), v)).toThrow(/timestamped signature .* does not verify/)
        for (const bad of ["o\n05\n" + root.toString("base64") + "\n", "o\n5\n", "\n5\n" + root.toString("base64") + "\n", "o\n5\nAAAA\n"])
            expect(() => parseCheckpointText(bad), JSON.stringify(bad)).toThrow(NoteError)
    })
})
