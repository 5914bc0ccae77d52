/**
 * Read tokens (docs/API.md, "Access"): the credentials that let a person or a program read the
 * gateway's fleet, device pages, readings, blocks, exports, events and dashboard. Distinct from
 * the admin token (adminauth.ts), which registers devices.
 *
 * A token is "flr_" and 32 random bytes in base64url: guessing one is hopeless, so the store
 * keeps only its SHA-256 and finds a presented token by that hash (a lookup that compares no
 * secret byte by byte: what its timing could leak is a prefix of a hash, which opens nothing).
 * The plain token is shown once, when it is created. A token may be limited to some devices.
 *
 * This module is pure (no I/O): the token's shape, its hash, and what a record holds; the
 * tables are in tokenstore.ts.
 */
import { createHash, randomBytes } from "node:crypto"
import { DEVICE_ID_TEXT, isDeviceIdHex } from "../../src/lib/codec/hexids"

/** Every read token starts with this: a secret scanner or a person can tell what it is. */
export const READ_TOKEN_PREFIX = "flr_"
const SECRET_BYTES = 32
/** "flr_" + base64url of 32 bytes (43 characters). */
const READ_TOKEN_SHAPE = /^flr_[A-Za-z0-9_-]{43}$/

/** A token as the store keeps it: never the token itself. */
export interface ReadTokenRecord {
    /** Public name of the token (12 hex digits): what `token list` shows and `token revoke` takes. */
    id: string
    label: string | null
    /** The devices the token reads; null: every device. */
    devices: string[] | null
    /** Unix milliseconds. */
    createdAt: number
    /** Unix milliseconds; null while the token is valid. */
    revokedAt: number | null
}

export interface NewReadToken {
    id: string
    /** SHA-256 of the token. */
    hash: Buffer
    label: string | null
    devices: string[] | null
    createdAt: number
}

/** Where read tokens live: in the gateway's database, so every gateway on it takes them. */
export interface ReadTokenStore {
    insert(t: NewReadToken): Promise<void>
    /** The valid (not revoked) token with this hash. */
    byHash(hash: Buffer): Promise<ReadTokenRecord | undefined>
    /** Every token, revoked ones too, oldest first. */
    list(): Promise<ReadTokenRecord[]>
    /** Revokes the token; "revoked", "already-revoked" or "unknown". */
    revoke(id: string, now: number): Promise<"revoked" | "already-revoked" | "unknown">
}

/** The SHA-256 of a presented token: how the store finds it. */
export function readTokenHash(token: string): Buffer {
    return createHash("sha256").update(token, "utf8").digest()
}

/** True when `text` has a read token's shape (checked before any lookup: bounded, cheap). */
export function looksLikeReadToken(text: string | undefined): text is string {
    return typeof text === "string" && READ_TOKEN_SHAPE.test(text)
}

/** A new token: the secret to hand out once, and what the store keeps of it. */
export function newReadToken(o: { label?: string | null; devices?: string[] | null; now: number }): {
    token: string
    record: NewReadToken
} {
    const token = READ_TOKEN_PREFIX + randomBytes(SECRET_BYTES).toString("base64url")
    return {
        token,
        record: {
            id: randomBytes(6).toString("hex"),
            hash: readTokenHash(token),
            label: o.label ?? null,
            devices: o.devices ?? null,
            createdAt: o.now,
        },
    }
}

export class TokenInputError extends Error {}

/** `--devices ID,ID`: device ids, 16 hex digits each, duplicates dropped; throws TokenInputError. */
export function parseDeviceList(text: string): string[] {
    const ids = text
        .split(",")
        .map(s => s.trim().toLowerCase())
        .filter(s => s !== "")
    if (ids.length === 0) throw new TokenInputError("--devices needs at least one device id")
    for (const id of ids)
        if (!isDeviceIdHex(id))
            throw new TokenInputError("--devices: " + JSON.stringify(id) + " is not a device id (" + DEVICE_ID_TEXT + ")")
    return [...new Set(ids)]
}

/** A token id as `token revoke` takes it (12 hex digits). */
export function isReadTokenId(text: string | undefined): boolean {
    return typeof text === "string" && /^[0-9a-f]{12}$/.test(text)
}
