/**
 * The log key: the Ed25519 key the gateway signs its checkpoints with (docs/SECURITY.md). Kept
 * like the master key: a file of 64 hex digits (the 32-byte seed), mode 0600, in the user's
 * configuration directory by default, apart from the database; created once. Whoever holds it
 * can sign checkpoints for this log; its public half is what auditors trust
 * (`fieldledger gateway --print-log-key`).
 */
import { createHash, randomBytes } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { homedir } from "node:os"
import { parseKeyHex } from "../../../src/lib/codec/hexids"
import { checkKeyName, ed25519FromSeed, NoteError, noteSigner, NoteSigner, verifierKey } from "../../lib/tlog/note"

export class LogKeyError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "LogKeyError"
    }
}

export function defaultLogKeyFile(env: NodeJS.ProcessEnv = process.env): string {
    return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "fieldledger", "log.key")
}

export interface LogKey {
    seed: Buffer
    from: string
    created: boolean
}

/**
 * The log key: `envValue` (FL_LOG_KEY, 64 hex digits: several gateways of one fleet sign as one
 * log, so they share it like the master key) if set, else the file, created (0600, directories
 * 0700) when `create` and absent.
 */
export function loadLogKey(file: string, options: { create: boolean; envValue?: string }): LogKey {
    if (options.envValue) {
        try {
            return { seed: parseKeyHex(options.envValue.trim(), "FL_LOG_KEY"), from: "FL_LOG_KEY", created: false }
        } catch (e) {
            throw new LogKeyError((e as Error).message)
        }
    }
    if (existsSync(file)) {
        try {
            return { seed: parseKeyHex(readFileSync(file, "utf8").trim(), "log key file " + file), from: file, created: false }
        } catch (e) {
            throw new LogKeyError((e as Error).message)
        }
    }
    if (!options.create) throw new LogKeyError("log key file " + file + " does not exist")
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    const seed = randomBytes(32)
    writeFileSync(file, seed.toString("hex") + "\n", { mode: 0o600, flag: "wx" })
    chmodSync(file, 0o600)
    return { seed, from: file, created: true }
}

/** The default origin (and key name) of a log: unique per key, no spaces or '+'. */
export function defaultOrigin(seed: Buffer): string {
    const pub = ed25519FromSeed(seed).publicKey
    return "fieldledger.invalid/log/" + createHash("sha256").update(pub).digest("hex").slice(0, 16)
}

export interface LogIdentity {
    origin: string
    signer: NoteSigner
    /** The verifier key auditors configure: NAME+KEYID+BASE64. */
    verifierKey: string
}

export function logIdentity(seed: Buffer, origin = defaultOrigin(seed)): LogIdentity {
    try {
        checkKeyName(origin)
    } catch (e) {
        if (e instanceof NoteError) throw new LogKeyError("the log origin " + e.message.replace(/^a key name/, "must be"))
        throw e
    }
    const signer = noteSigner(origin, seed)
    return { origin, signer, verifierKey: verifierKey(origin, signer.publicKey) }
}
