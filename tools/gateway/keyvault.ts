/**
 * Device keys at rest: each K_0 is sealed with AES-256-GCM under the gateway's master key, with
 * the device id as associated data (a sealed key moved to another device's row does not open).
 * The master key comes from FL_MASTER_KEY (64 hex), a key file, or is created once in the
 * user's configuration directory (mode 0600, its directory 0700), away from the database: a copy
 * of the database alone then opens no device key. Keys are never logged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { parseKeyHex } from "../../src/lib/codec/hexids"

/** An AES-256 key: as long as a device key, so it is written and parsed the same way. */
export const MASTER_KEY_BYTES = 32
const IV_BYTES = 12
const GCM_TAG_BYTES = 16

export class KeyVaultError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "KeyVaultError"
    }
}

/** Parses a master key given as 64 hex digits of either case (src/lib/codec/hexids.ts; surrounding whitespace ignored). */
export function parseMasterKey(text: string, what: string): Buffer {
    try {
        return parseKeyHex(text.trim(), what)
    } catch (e) {
        throw new KeyVaultError((e as Error).message)
    }
}

export interface MasterKeySource {
    key: Buffer
    /** Where it came from, for the startup line (never the key itself). */
    from: string
    /** True when this call created the key file. */
    created: boolean
    /** Set when the key came from the old default beside the database (the caller says to move it). */
    legacy?: boolean
}

/**
 * The master key: `envValue` (FL_MASTER_KEY) if set, else the key file; if neither is given,
 * `defaultFile` is read, else `legacyFile` (the default of earlier versions) if it exists, so an
 * existing deployment keeps its key instead of silently getting a new one; else `defaultFile`
 * is created (mode 0600; directories it needs 0700).
 */
export function loadMasterKey(options: { envValue?: string; file?: string; defaultFile: string; legacyFile?: string }): MasterKeySource {
    if (options.envValue) return { key: parseMasterKey(options.envValue, "FL_MASTER_KEY"), from: "FL_MASTER_KEY", created: false }
    if (options.file) {
        if (!existsSync(options.file)) throw new KeyVaultError("master key file " + options.file + " does not exist")
        return {
            key: parseMasterKey(readFileSync(options.file, "utf8"), "master key file " + options.file),
            from: options.file,
            created: false,
        }
    }
    const file = options.defaultFile
    if (existsSync(file)) return { key: parseMasterKey(readFileSync(file, "utf8"), "master key file " + file), from: file, created: false }
    const legacy = options.legacyFile
    if (legacy && existsSync(legacy))
        return {
            key: parseMasterKey(readFileSync(legacy, "utf8"), "master key file " + legacy),
            from: legacy,
            created: false,
            legacy: true,
        }
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    const key = randomBytes(MASTER_KEY_BYTES)
    writeFileSync(file, key.toString("hex") + "\n", { mode: 0o600, flag: "wx" })
    chmodSync(file, 0o600)
    return { key, from: file, created: true }
}

/** Seals and opens device keys under one master key. */
export class KeyVault {
    private readonly master: Buffer

    constructor(masterKey: Buffer) {
        if (!masterKey || masterKey.length !== MASTER_KEY_BYTES) throw new RangeError("masterKey must be " + MASTER_KEY_BYTES + " bytes")
        this.master = Buffer.from(masterKey)
    }

    /** iv (12) || ciphertext || GCM tag (16), bound to `associated` (the device id). */
    seal(plaintext: Buffer, associated: Buffer): Buffer {
        const iv = randomBytes(IV_BYTES)
        const cipher = createCipheriv("aes-256-gcm", this.master, iv)
        cipher.setAAD(associated)
        const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
        return Buffer.concat([iv, body, cipher.getAuthTag()])
    }

    /** Throws KeyVaultError when the sealed bytes were altered, or sealed under another key or id. */
    open(sealed: Buffer, associated: Buffer): Buffer {
        if (sealed.length < IV_BYTES + GCM_TAG_BYTES) throw new KeyVaultError("sealed key truncated")
        const decipher = createDecipheriv("aes-256-gcm", this.master, sealed.subarray(0, IV_BYTES))
        decipher.setAAD(associated)
        decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES))
        try {
            return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - GCM_TAG_BYTES)), decipher.final()])
        } catch (e) {
            throw new KeyVaultError("a sealed key does not open under this master key (wrong master key, or the database was altered)")
        }
    }
}
