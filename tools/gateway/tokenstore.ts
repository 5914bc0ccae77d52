/**
 * The read tokens' table (tokens.ts) on both stores: one migration each (SQLITE_READ_TOKENS in
 * store.ts's MIGRATIONS, PG_READ_TOKENS in pgstore.ts's PG_MIGRATIONS) and the queries. A token
 * row keeps the SHA-256 of the token (unique: the lookup), never the token. The device list is
 * JSON text (null: every device). Revoking keeps the row, with the time, for `token list`.
 */
import type Database from "better-sqlite3"
import type pg from "pg"
import type { NewReadToken, ReadTokenRecord, ReadTokenStore } from "./tokens"

export const SQLITE_READ_TOKENS = `CREATE TABLE read_tokens (
    id TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    label TEXT,
    devices TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);`

export const PG_READ_TOKENS = `CREATE TABLE read_tokens (
    id TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE,
    label TEXT,
    devices TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);`

const COLUMNS = `id, label, devices, created_at, revoked_at`

function fromRow(r: any): ReadTokenRecord {
    return {
        id: r.id,
        label: r.label,
        devices: r.devices === null ? null : (JSON.parse(r.devices) as string[]),
        createdAt: Number(r.created_at),
        revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    }
}

function devicesText(t: NewReadToken): string | null {
    return t.devices === null ? null : JSON.stringify(t.devices)
}

/** Read tokens in a SQLite store; `serial` is the store's write queue. */
export function sqliteReadTokens(db: Database.Database, serial: <T>(write: () => T) => Promise<T>): ReadTokenStore {
    const byHash = db.prepare(`SELECT ${COLUMNS} FROM read_tokens WHERE token_hash = ? AND revoked_at IS NULL`)
    const list = db.prepare(`SELECT ${COLUMNS} FROM read_tokens ORDER BY created_at, id`)
    const get = db.prepare(`SELECT ${COLUMNS} FROM read_tokens WHERE id = ?`)
    const insert = db.prepare(`INSERT INTO read_tokens (id, token_hash, label, devices, created_at) VALUES (?, ?, ?, ?, ?)`)
    const revoke = db.prepare(`UPDATE read_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`)
    return {
        insert: t =>
            serial((): void => {
                insert.run(t.id, t.hash, t.label, devicesText(t), t.createdAt)
            }),
        byHash: async hash => {
            const r = byHash.get(hash)
            return r ? fromRow(r) : undefined
        },
        list: async () => list.all().map(fromRow),
        revoke: (id, now) =>
            serial(() => {
                if (revoke.run(now, id).changes === 1) return "revoked" as const
                return get.get(id) ? ("already-revoked" as const) : ("unknown" as const)
            }),
    }
}

/** Read tokens in a PostgreSQL store. */
export function pgReadTokens(pool: pg.Pool): ReadTokenStore {
    return {
        insert: async t => {
            await pool.query(`INSERT INTO read_tokens (id, token_hash, label, devices, created_at) VALUES ($1, $2, $3, $4, $5)`, [
                t.id,
                t.hash,
                t.label,
                devicesText(t),
                t.createdAt,
            ])
        },
        byHash: async hash => {
            const r = await pool.query(`SELECT ${COLUMNS} FROM read_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, [hash])
            return r.rows[0] ? fromRow(r.rows[0]) : undefined
        },
        list: async () => (await pool.query(`SELECT ${COLUMNS} FROM read_tokens ORDER BY created_at, id`)).rows.map(fromRow),
        revoke: async (id, now) => {
            const r = await pool.query(`UPDATE read_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, [now, id])
            if (r.rowCount === 1) return "revoked"
            return (await pool.query(`SELECT 1 FROM read_tokens WHERE id = $1`, [id])).rowCount ? "already-revoked" : "unknown"
        },
    }
}
