/**
 * `fieldledger verify FILE`: checks an export file offline and says, for people or with
 * --json for scripts, whether the chain is complete and authentic, or where it first fails.
 */
import { readFileSync } from "node:fs"
import { fromHex, FormatError, toHex } from "../src/lib/codec/bytes"
import { BlockTime, LINK_BYTES } from "../src/lib/codec/format"
import { parseKeyHex } from "../src/lib/codec/hexids"
import { lostReadingsText, SignedSummary, verifyChain, VerifyReport } from "../src/lib/ledger/verify"
import { commandLine, UsageError } from "./lib/args"
import { nobleCrypto } from "./lib/crypto"
import { publicKeyFingerprint, verifyEd25519 } from "./lib/ed25519"
import { decryptChain, DecryptError } from "./lib/decryptchain"
import { readingsCsv } from "./lib/readingscsv"
import { ChainExport, ExportFileError, parseExport } from "./lib/exportfile"

export const VERIFY_HELP = `Usage: fieldledger verify FILE [--key HEX | --key-file PATH] [--public-key PUB] [--head SEQ:HASH] [--data-key PATH] [--json]

Verifies a fieldledger export file (docs/FORMAT.md, "Export file") offline: every block's
format, its seq, its link to the block before, (with the device's K_0) its tag under its own
epoch key, and (with its public key) its signed checkpoints. Prints a summary of the chain,
or the first failure with its block.

Options:
  --key HEX        the device's initial key K_0 (64 hex digits). Visible to other users
                   of this machine in the process list: prefer --key-file.
  --key-file PATH  a file holding K_0 as 64 hex digits
  --public-key PUB the device's signing public key pk_0 (64 hex digits, or a file holding
                   them), as registered at provisioning: checks the signed checkpoints
                   without K_0 and reports up to which seq the chain is publicly verified,
                   and the unsigned tail after it. Without it the file's own "publicKeys"
                   are used, and the report says that they vouch for nothing
  --head SEQ:HASH  a head known from a trusted source (the gateway's ack, an audit record):
                   without it, a chain cut short at the end cannot be told from a complete one.
                   A head the file names itself is checked too, but vouches for nothing: the
                   report says what the end of the chain was checked against, if anything
  --data-key PATH  the data owner's key file (D_0, 64 hex digits, from provision --encrypt):
                   decrypts the encrypted readings and prints every reading of the chain
                   as CSV after the report (with --json: a "readings" array). Without it,
                   encrypted blocks are checked and counted, their values not read
  --json           print the report as JSON
  -h, --help       this help

Without a key only format, seq and links are checked: nothing is authenticated. With only
a public key, the blocks up to the last signed checkpoint are authenticated (by the device's
signature, which neither the gateway nor K_0 can forge); the tail after it is not.

Exit status: 0 valid, 1 invalid, 2 usage or I/O error. Invalid is a chain that fails or a
readable file that is not a valid export (not JSON, odd or non-hex block strings, a block
over 200 bytes, another format or version).`

function readKey(keyHex: string | undefined, keyFile: string | undefined): Buffer | undefined {
    if (keyHex !== undefined && keyFile !== undefined) throw new UsageError("give either --key or --key-file, not both")
    let text = keyHex
    if (keyFile !== undefined) {
        try {
            text = readFileSync(keyFile, "utf8").trim()
        } catch (e) {
            throw new UsageError("cannot read key file: " + (e as Error).message)
        }
    }
    if (text === undefined) return undefined
    try {
        return parseKeyHex(text.trim(), "the key")
    } catch (e) {
        throw new UsageError((e as FormatError).message)
    }
}

/** --public-key: 64 hex digits, or else the path of a file holding them. */
function readPublicKey(text: string | undefined): Buffer | undefined {
    if (text === undefined) return undefined
    let hex = text.trim()
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
        try {
            hex = readFileSync(text, "utf8").trim()
        } catch (e) {
            throw new UsageError("--public-key is neither 64 hex digits nor a readable file: " + (e as Error).message)
        }
    }
    try {
        return parseKeyHex(hex, "the public key")
    } catch (e) {
        throw new UsageError((e as FormatError).message)
    }
}

/** Where the public key came from: the command line, the export file (vouches for nothing), or nowhere. */
export interface PublicKeyUse {
    from: "option" | "file" | "none"
    fingerprint?: string
    /** --public-key was given and the file names another pk_0: its fingerprint. */
    fileDiffers?: string
}

type Head = { seq: number; hash: Buffer }

function parseHead(text: string | undefined): Head | undefined {
    if (text === undefined) return undefined
    const [seqText, hashText] = text.split(":")
    const seq = Number(seqText)
    if (!Number.isSafeInteger(seq) || seq < 0 || hashText === undefined) throw new UsageError("--head must be SEQ:HASH, e.g. 41:3fa2...")
    try {
        const hash = fromHex(hashText, "--head hash")
        if (hash.length !== LINK_BYTES) throw new UsageError("--head hash must be " + LINK_BYTES + " bytes")
        return { seq, hash }
    } catch (e) {
        if (e instanceof UsageError) throw e
        throw new UsageError((e as Error).message)
    }
}

function formatTime(t: BlockTime | undefined): string {
    if (!t) return "-"
    const unix = t.unixTime !== undefined ? " (" + new Date(t.unixTime * 1000).toISOString() + ")" : ""
    return "boot " + t.boot + " +" + (t.uptimeMs / 1000).toFixed(1) + " s" + unix
}

/** What vouches for the end of the chain: a head from the command line, the file's own, or nothing. */
export interface TailCheck {
    against: "option" | "file" | "nothing"
    head?: { seq: number; hash: string }
}

function tailLine(t: TailCheck): string {
    const at = t.head ? " (seq " + t.head.seq + ")" : ""
    if (t.against === "option") return "tail      checked against the head given with --head" + at
    if (t.against === "file")
        return (
            "tail      checked against the file's own head" +
            at +
            ": whoever wrote the file chose it; for an audit give --head SEQ:HASH from the gateway (GET /v1/devices/ID)"
        )
    return "tail      UNCHECKED: nothing vouches for the end of the chain, so blocks cut from its end would not show; give --head SEQ:HASH from the gateway (GET /v1/devices/ID)"
}

const count = (n: number, one: string) => n + " " + one + (n === 1 ? "" : "s")

function signedLines(signed: SignedSummary | undefined, key: PublicKeyUse): string[] {
    if (!signed || key.from === "none")
        return ["signed    signatures NOT checked: no public key (give --public-key PUB, as registered at provisioning)"]
    const source =
        key.from === "option"
            ? "pk_0 " + key.fingerprint + " from --public-key"
            : "pk_0 " +
              key.fingerprint +
              " from the file itself: whoever wrote the file chose it; compare the fingerprint with the one provisioning recorded, or give --public-key"
    const lines = ["pubkey    " + source]
    if (key.fileDiffers)
        lines.push("pubkey    the file names another pk_0 (" + key.fileDiffers + "): whoever wrote it registered or claims another key")
    if (signed.verifiedTo === undefined)
        lines.push(
            "signed    NOTHING publicly verified: " +
                (signed.checkpointsSeen === 0
                    ? "the chain has no signed checkpoint (a v1 chain, or sealed before signing)"
                    : "no signed checkpoint verified")
        )
    else
        lines.push(
            "signed    publicly verified up to seq " +
                signed.verifiedTo +
                " (" +
                count(signed.checkpoints, "signed checkpoint") +
                ", no K_0 needed)"
        )
    if (signed.unsignedBlocks > 0)
        lines.push(
            "unsigned  seq " +
                signed.unsignedFrom +
                ".." +
                signed.unsignedTo +
                " (" +
                count(signed.unsignedBlocks, "block") +
                ") after the last signed checkpoint: not publicly verified"
        )
    if (signed.broken) lines.push("keys      " + signed.broken)
    return lines
}

export function formatReport(
    file: string,
    report: VerifyReport,
    tail: TailCheck = { against: "nothing" },
    key: PublicKeyUse = { from: "none" }
): string {
    const s = report.summary
    const lines = ["fieldledger verify: " + file]
    const channels = (s.channels || []).map(c => c.name + " " + c.unit + " x1e" + c.exponent).join(", ")
    lines.push("device    " + s.deviceId + (s.firmware ? " (firmware " + s.firmware + ", board " + s.board + ")" : ""))
    if (channels) lines.push("channels  " + channels)
    lines.push("blocks    " + s.blocks + " (" + s.dataBlocks + " data, " + s.gaps.length + " gap records)")
    lines.push("readings  " + s.readings + " (" + s.missingValues + " missing values)")
    lines.push("time      " + formatTime(s.first) + " .. " + formatTime(s.last))
    for (const g of s.gaps) {
        const blocks = g.lostBlocks > 0 ? ", blocks " + g.firstLostSeq + ".." + (g.firstLostSeq + g.lostBlocks - 1) + " dropped" : ""
        lines.push("gap       seq " + g.seq + ": " + g.reason + ", " + lostReadingsText(g.reason, g.lostReadings) + blocks)
    }
    if (s.previousChainHead) lines.push("succeeds  chain with head " + s.previousChainHead)
    if (s.head) lines.push("head      seq " + s.head.seq + " " + s.head.hash)
    if (report.ok) lines.push(tailLine(tail))
    lines.push(...signedLines(s.signed, key))
    const publiclyTo = s.signed && s.signed.verifiedTo !== undefined ? s.signed.verifiedTo : undefined
    if (report.ok) {
        lines.push(
            s.authenticated
                ? "VALID: every block authenticated under its own epoch key; seq and links continuous"
                : publiclyTo !== undefined
                  ? "PUBLICLY VALID up to seq " +
                    publiclyTo +
                    ": signed by the device; format, seq and links check out; later blocks NOT authenticated (no K_0)"
                  : "STRUCTURE VALID: format, seq and links check out, but no key was given: NOT authenticated"
        )
    } else {
        const f = report.failure!
        lines.push(
            "INVALID at block index " +
                f.index +
                (f.seq !== undefined ? " (seq " + f.seq + ")" : "") +
                ": " +
                f.reason +
                " [" +
                f.code +
                "]"
        )
    }
    return lines.join("\n")
}

export async function runVerify(argv: string[], out: (s: string) => void = console.log): Promise<number> {
    const cli = commandLine(
        argv,
        {
            key: { type: "string" },
            "key-file": { type: "string" },
            "public-key": { type: "string" },
            head: { type: "string" },
            "data-key": { type: "string" },
            json: { type: "boolean" },
        },
        VERIFY_HELP,
        { positionals: "own", out }
    )
    if (!cli) return 0
    if (cli.positionals.length !== 1) throw new UsageError("give exactly one export FILE")
    const file = cli.positionals[0]
    const key0 = readKey(cli.string("key"), cli.string("key-file"))
    const publicKey = readPublicKey(cli.string("public-key"))
    const expectedHead = parseHead(cli.string("head"))
    let text: string
    try {
        text = readFileSync(file, "utf8")
    } catch (e) {
        throw new UsageError("cannot read " + file + ": " + (e as Error).message)
    }
    let chain
    try {
        chain = parseExport(text)
    } catch (e) {
        // A file that can be read but is not a valid export is invalid (1), like a tampered
        // chain: 2 stays for usage and I/O, so a script that treats 1 as "bad file" misses none.
        if (!(e instanceof ExportFileError)) throw e
        const failure = { index: -1, code: "export-file", reason: e.message }
        out(
            cli.boolean("json")
                ? JSON.stringify({ file, ok: false, failure }, null, 2)
                : "fieldledger verify: " + file + "\nINVALID export file: " + e.message
        )
        return 1
    }
    const dataKeyFile = cli.string("data-key")
    const dataKey0 = dataKeyFile !== undefined ? readKey(undefined, dataKeyFile) : undefined
    const { report, tail, publicKeyUse } = verifyExport(chain, key0, expectedHead, publicKey)
    const json = cli.boolean("json")
    // The readings are decrypted only from a chain that verified: the tags over the ciphertext
    // are what vouches for them.
    let decrypted: ReturnType<typeof decryptChain> | undefined
    let decryptError: string | undefined
    if (dataKey0 && report.ok) {
        try {
            decrypted = decryptChain(chain.blocks, chain.deviceId, dataKey0)
        } catch (e) {
            if (!(e instanceof DecryptError)) throw e
            decryptError = e.message
        }
    }
    if (json) {
        const doc: Record<string, unknown> = { file, ...report, tail, publicKey: publicKeyUse }
        if (decrypted) doc.readings = decrypted.rows
        if (decryptError) doc.decryptError = decryptError
        out(JSON.stringify(doc, null, 2))
    } else {
        const lines = [formatReport(file, report, tail, publicKeyUse)]
        const encrypted = report.summary.encryptedBlocks ?? 0
        if (decryptError) lines.push("DATA KEY  " + decryptError)
        else if (decrypted)
            lines.push(
                "decrypted " + count(decrypted.decryptedBlocks, "encrypted block") + "; readings:",
                readingsCsv(decrypted.channels, decrypted.rows)
            )
        else if (encrypted > 0)
            lines.push(
                "values    " +
                    count(encrypted, "data block") +
                    " with encrypted readings: counts and times only; give --data-key PATH to read them"
            )
        out(lines.join("\n"))
    }
    return report.ok && !decryptError ? 0 : 1
}

/**
 * Verifies the chain against the head given on the command line and, when the file names a
 * head of its own, against that too: a file whose head disagrees with its last blocks is cut
 * short or altered, whoever wrote it. Only a head from elsewhere makes the end of the chain
 * trustworthy; the report says which one vouched for it, if any.
 */
export function verifyExport(
    chain: ChainExport,
    key0: Buffer | undefined,
    given: Head | undefined,
    publicKey?: Buffer
): { report: VerifyReport; tail: TailCheck; publicKeyUse: PublicKeyUse } {
    const publicKey0 = publicKey ?? (chain.publicKeys ? chain.publicKeys[0] : undefined)
    const publicKeyUse: PublicKeyUse = { from: publicKey ? "option" : publicKey0 ? "file" : "none" }
    if (publicKey0) publicKeyUse.fingerprint = publicKeyFingerprint(publicKey0)
    if (publicKey && chain.publicKeys && !chain.publicKeys[0].equals(publicKey))
        publicKeyUse.fileDiffers = publicKeyFingerprint(chain.publicKeys[0])
    const options = { deviceId: chain.deviceId, key0, publicKey0, verifySignature: verifyEd25519 }
    const own = chain.head
    let report = verifyChain(nobleCrypto, chain.blocks, { ...options, expectedHead: given ?? own })
    const differs = given && own && !(given.seq === own.seq && given.hash.equals(own.hash))
    if (report.ok && differs) report = verifyChain(nobleCrypto, chain.blocks, { ...options, expectedHead: own })
    const vouch = given ?? own
    const tail: TailCheck = { against: given ? "option" : own ? "file" : "nothing" }
    if (vouch) tail.head = { seq: vouch.seq, hash: toHex(vouch.hash) }
    return { report, tail, publicKeyUse }
}
