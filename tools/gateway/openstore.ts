/**
 * Which store a gateway runs on, from its `--db` (or FL_DB_URL): a postgres:// or
 * postgresql:// URL opens PostgreSQL (pgstore.ts), anything else is a SQLite file path
 * (store.ts). Nothing else in the gateway knows which one it got.
 */
import { GatewayStore, SqliteStore } from "./store"

/** True when `location` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
    return /^postgres(ql)?:\/\//i.test(location)
}

/**
 * Opens (creating and migrating as needed) the store at `location`, with its transparency log in
 * the same database (GatewayStore.log).
 */
export async function openStore(location: string): Promise<GatewayStore> {
    if (isPostgresUrl(location)) {
        const { PgStore } = await import("./pgstore")
        return PgStore.open(location)
    }
    return new SqliteStore(location)
}

/** `location` as a message may show it: a URL without its password. */
export function describeStore(location: string): string {
    if (!isPostgresUrl(location)) return location
    try {
        const url = new URL(location)
        if (url.password) url.password = "***"
        return url.toString()
    } catch {
        return "a PostgreSQL URL"
    }
}
