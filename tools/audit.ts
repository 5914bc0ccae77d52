/**
 * `fieldledger audit`: the monitor an independent party runs against a gateway's transparency
 * log (docs/SECURITY.md, "What an auditor learns"; the checks in tools/lib/tlog/audit.ts). It
 * keeps the last checkpoint it trusted in a state file and moves it only when everything checks.
 */
import * as http from "node:http"
import * as https from "node:https"
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs"
import { join } from "node:path"
import { isDeviceIdHex, parseKeyHex } from "../src/lib/codec/hexids"
import { commandLine, gatewayOption, UsageError } from "./lib/args"
import { nodeCrypto } from "./lib/crypto"
import { AuditFailure, AuditSource, AuditState, compareStates, runAudit, STATE_FORMAT, STATE_VERSION } from "./lib/tlog/audit"
import { openCheckpoint } from "./lib/tlog/checkpoint"
import { checkConsistency, ProofError } from "./lib/tlog/merkle"
import { NoteError, NoteVerifier, parseVerifierKey } from "./lib/tlog/note"
import { tilePath } from "./lib/tlog/tiles"

export const AUDIT_HELP = `Usage: fieldledger audit --gateway URL --log-key VKEY --state FILE [--keys DIR] [--json]
       fieldledger audit --compare STATE1 STATE2 [--gateway URL] [--json]

Audits a fieldledger gateway's transparency log (docs/SECURITY.md). From the checkpoint it
trusted last (kept in FILE; the first run trusts what it is shown) to the gateway's latest:
the checkpoint's signature under the log key, that it extends the trusted one (consistency
proof, and the roots recomputed from the entries), every new entry, each device's seqs only
growing, and each device's export: it verifies, holds every logged block with the logged
hash, and still holds the newest block logged before (no deletion, rewrite or cut tail).
The state file moves only when everything checks.

Options:
  --gateway URL      the gateway (http(s)://host:port); the log is at URL/v1/log
  --log-key VKEY     the log's verifier key, NAME+KEYID+BASE64 (fieldledger gateway
                     --print-log-key on the gateway; a file holding it works too)
  --state FILE       the auditor's state: created on the first run, then read and replaced
  --keys DIR         a directory of device keys, DEVICEID.key holding K_0 (64 hex digits):
                     those devices' blocks are authenticated too (tags under their epoch keys)
  --compare A B      compare two auditors' state files: two checkpoints of one size with
                     different roots is a split view; of different sizes, with --gateway, the
                     larger must extend the smaller (consistency proof)
  --json             print one JSON object (the report, or the failure) on stdout
  -h, --help         this help

The log's routes are public; the exports are not: give a read token in env FL_READ_TOKEN
('fieldledger gateway token create --read' on the gateway; docs/API.md, "Access").

Progress goes to stderr. Exit status: 0 the log checks, 1 the log fails a check (the message
names it: rewritten log, split view, deleted block, truncated tail, rewritten block, ...),
2 usage, I/O or network error.`

/** How long a request may go without a byte before the audit gives up on the gateway. */
const IDLE_TIMEOUT_MS = 60_000

/**
 * GET over kept-alive connections with node:http(s): fetch spent more CPU on each entry bundle
 * than hashing its 256 entries does, and a catch-up asks for one bundle per 256 leaves.
 * Idle connections do not keep the process alive.
 */
function httpGetter(base: string, headers: Record<string, string>): (path: string) => Promise<{ status: number; body: Buffer }> {
    const lib = new URL(base).protocol === "https:" ? https : http
    const agent = new lib.Agent({ keepAlive: true, maxSockets: 16 })
    return path =>
        new Promise((resolve, reject) => {
            const req = lib.get(base + path, { agent, headers }, res => {
                const chunks: Buffer[] = []
                res.on("data", (chunk: Buffer) => chunks.push(chunk))
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
                res.on("close", () => {
                    if (!res.complete) reject(new Error("the connection closed inside the answer"))
                })
                res.on("error", reject)
            })
            req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error("no answer for " + IDLE_TIMEOUT_MS / 1000 + " s")))
            req.on("error", reject)
        })
}

/** An audit source over HTTP: the tlog-tiles routes (public) and the exports (with the read token, if given). */
export function httpSource(gateway: string, readToken: string | undefined = process.env.FL_READ_TOKEN || undefined): AuditSource {
    const base = gateway.replace(/\/+$/, "")
    const request = httpGetter(base, readToken ? { authorization: "Bearer " + readToken } : {})
    const get = async (path: string, allow404 = false): Promise<Buffer | undefined> => {
        let res: { status: number; body: Buffer }
        try {
            res = await request(path)
        } catch (e) {
            throw new NetworkError("cannot reach " + base + path + ": " + (e as Error).message)
        }
        if (allow404 && res.status === 404) return undefined
        if (res.status !== 200)
            throw new NetworkError("GET " + base + path + " answered " + res.status + ": " + res.body.toString("utf8", 0, 200))
        return res.body
    }
    return {
        checkpoint: async () => (await get("/v1/log/checkpoint")).toString("utf8"),
        checkpointAt: async size => (await get("/v1/log/checkpoints/" + size, true))?.toString("utf8"),
        consistency: async (from, to) => {
            let body: any
            try {
                body = JSON.parse((await get("/v1/log/proof/consistency?from=" + from + "&to=" + to)).toString("utf8"))
            } catch (e) {
                if (e instanceof SyntaxError) throw new NetworkError("a consistency proof that is not JSON")
                throw e
            }
            if (!Array.isArray(body?.proof) || body.proof.some((p: unknown) => typeof p !== "string"))
                throw new NetworkError("a consistency proof that is not a list of hashes")
            return body.proof.map((p: string) => Buffer.from(p, "base64"))
        },
        bundle: async (index, width) => get("/v1/log/" + tilePath("entries", index, width)),
        exportOf: async id => (await get("/v1/devices/" + id + "/export", true))?.toString("utf8"),
    }
}

class NetworkError extends Error {}

function readVerifierKey(text: string): { verifier: NoteVerifier; vkey: string } {
    let vkey = text
    if (!text.includes("+") && existsSync(text)) vkey = readFileSync(text, "utf8").trim()
    try {
        return { verifier: parseVerifierKey(vkey), vkey: vkey.trim() }
    } catch (e) {
        throw new UsageError("--log-key: " + (e as NoteError).message)
    }
}

function readState(file: string): AuditState {
    let doc: any
    try {
        doc = JSON.parse(readFileSync(file, "utf8"))
    } catch (e) {
        throw new UsageError("cannot read the state file " + file + ": " + (e as Error).message)
    }
    if (
        doc?.format !== STATE_FORMAT ||
        doc.version !== STATE_VERSION ||
        typeof doc.checkpoint?.note !== "string" ||
        typeof doc.devices !== "object"
    )
        throw new UsageError(file + " is not a fieldledger audit state (version " + STATE_VERSION + ")")
    // Its checkpoint is re-opened under its own key: a hand-edited state is refused, not trusted.
    try {
        const c = openCheckpoint(doc.checkpoint.note, parseVerifierKey(doc.verifierKey))
        if (c.size !== doc.checkpoint.size || c.root.toString("base64") !== doc.checkpoint.root || doc.range?.size !== c.size)
            throw new NoteError("its fields differ from its signed checkpoint")
    } catch (e) {
        if (e instanceof NoteError) throw new UsageError("the state file " + file + " does not hold a signed checkpoint: " + e.message)
        throw e
    }
    return doc as AuditState
}

/** Written beside, synced, then renamed over: a crash leaves the old state or the new, never half. */
function writeState(file: string, state: AuditState) {
    const tmp = file + ".tmp"
    const fd = openSync(tmp, "w", 0o644)
    try {
        writeSync(fd, JSON.stringify(state, null, 1) + "\n")
        fsyncSync(fd)
    } finally {
        closeSync(fd)
    }
    renameSync(tmp, file)
}

function keysFrom(dir: string | undefined): (id: string) => Buffer | undefined {
    if (dir === undefined) return () => undefined
    if (!existsSync(dir)) throw new UsageError("--keys " + dir + " does not exist")
    return id => {
        if (!isDeviceIdHex(id)) return undefined
        const file = join(dir, id + ".key")
        if (!existsSync(file)) return undefined
        try {
            return parseKeyHex(readFileSync(file, "utf8").trim(), file)
        } catch (e) {
            throw new UsageError((e as Error).message)
        }
    }
}

export async function runAuditCommand(argv: string[]): Promise<number> {
    const cli = commandLine(
        argv,
        {
            gateway: { type: "string" },
            "log-key": { type: "string" },
            state: { type: "string" },
            keys: { type: "string" },
            compare: { type: "boolean" },
            json: { type: "boolean" },
        },
        AUDIT_HELP,
        { positionals: "own" }
    )
    if (!cli) return 0
    const json = cli.boolean("json")
    const gateway = gatewayOption(cli, "gateway")
    const say = (line: string) => {
        if (!json) console.log(line)
    }
    const fail = (e: AuditFailure) => {
        if (json) console.log(JSON.stringify({ ok: false, error: e.code, message: e.message, evidence: e.evidence }))
        else {
            console.error("fieldledger audit: FAILED (" + e.code + "): " + e.message)
            for (const note of e.evidence) console.error("\n" + note.trimEnd())
        }
        return 1
    }
    try {
        if (cli.boolean("compare")) {
            if (cli.positionals.length !== 2) throw new UsageError("--compare takes two state files")
            const [a, b] = cli.positionals.map(readState)
            let cmp
            try {
                cmp = compareStates(a, b)
            } catch (e) {
                if (e instanceof RangeError) throw new UsageError(e.message)
                throw e
            }
            const { smaller, larger } = cmp
            let checked = cmp.sameSize
            if (!cmp.sameSize && gateway) {
                const proof = await httpSource(gateway).consistency(smaller.checkpoint.size, larger.checkpoint.size)
                try {
                    checkConsistency(
                        smaller.checkpoint.size,
                        larger.checkpoint.size,
                        Buffer.from(smaller.checkpoint.root, "base64"),
                        Buffer.from(larger.checkpoint.root, "base64"),
                        proof
                    )
                } catch (e) {
                    if (!(e instanceof ProofError)) throw e
                    throw new AuditFailure(
                        "split-view",
                        "the checkpoints of sizes " +
                            smaller.checkpoint.size +
                            " and " +
                            larger.checkpoint.size +
                            " are both signed and no proof joins them (" +
                            e.message +
                            "): the two auditors were shown different logs",
                        [smaller.checkpoint.note, larger.checkpoint.note]
                    )
                }
                checked = true
            }
            const result = { ok: true, sizes: [a.checkpoint.size, b.checkpoint.size], consistent: checked }
            if (json) console.log(JSON.stringify(result))
            else
                say(
                    checked
                        ? "the two states agree: tree sizes " +
                              a.checkpoint.size +
                              " and " +
                              b.checkpoint.size +
                              (cmp.sameSize ? " with one root" : ", the larger extends the smaller")
                        : "no conflict at one size; the sizes differ (" +
                              a.checkpoint.size +
                              ", " +
                              b.checkpoint.size +
                              "): give --gateway to check that the larger extends the smaller"
                )
            return checked ? 0 : 1
        }
        if (cli.positionals.length > 0) throw new UsageError("unexpected argument " + cli.positionals[0])
        if (!gateway) throw new UsageError("--gateway is required")
        const keyText = cli.string("log-key")
        if (!keyText) throw new UsageError("--log-key is required (fieldledger gateway --print-log-key prints it)")
        const stateFile = cli.string("state")
        if (!stateFile) throw new UsageError("--state is required (a file: created on the first run)")
        const { verifier, vkey } = readVerifierKey(keyText)
        const state = existsSync(stateFile) ? readState(stateFile) : undefined
        if (state && state.verifierKey !== vkey) throw new UsageError("the state file audits another log (" + state.verifierKey + ")")
        let last = 0
        const { state: next, report } = await runAudit({
            source: httpSource(gateway),
            verifier,
            verifierKey: vkey,
            crypto: nodeCrypto,
            state,
            key0: keysFrom(cli.string("keys")),
            onProgress: (done, total, what) => {
                const now = Date.now()
                if (now - last < 1000 && done < total) return
                last = now
                process.stderr.write("audit: " + done + " of " + total + " " + what + "\n")
            },
        })
        writeState(stateFile, next)
        if (json) console.log(JSON.stringify({ ok: true, ...report }))
        else {
            say(
                "log OK: checkpoint of " +
                    report.checkpoint.size +
                    " leaves (" +
                    report.checkpoint.time +
                    ")" +
                    (state ? ", extends the trusted " + report.previousSize : " (first run: trusted as shown)") +
                    "; " +
                    report.newLeaves +
                    " new leaves checked"
            )
            for (const d of report.devices)
                say(
                    "  device " +
                        d.deviceId +
                        (d.chain > 0 ? " chain " + d.chain : "") +
                        ": logged up to seq " +
                        d.loggedUpTo +
                        ", " +
                        d.newLeaves +
                        " new, export holds them" +
                        (d.authenticated ? ", tags verify under K_0" : " (links only: no K_0)")
                )
        }
        return 0
    } catch (e) {
        if (e instanceof AuditFailure) return fail(e)
        if (e instanceof NetworkError) {
            if (json) console.log(JSON.stringify({ ok: false, error: "network", message: e.message }))
            else console.error("fieldledger audit: " + e.message)
            return 2
        }
        throw e
    }
}
