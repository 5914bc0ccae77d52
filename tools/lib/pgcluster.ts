/**
 * A private PostgreSQL cluster for tests and benchmarks: `initdb` into a directory of its own,
 * `postgres` on a free port of 127.0.0.1 (its unix socket in that directory too), trust
 * authentication for the local user `postgres`. Run as root, the server cannot start: every
 * command then runs as the unprivileged `postgres` user (runuser), which owns the directory.
 * `stop` shuts the server down at once and removes the directory.
 */
import { spawnSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { freePort } from "./ports"

/** Where Debian's postgresql package puts the server (FL_PG_BIN overrides). */
export const PG_BIN = process.env.FL_PG_BIN || "/usr/lib/postgresql/15/bin"

export interface PgClusterInfo {
    dir: string
    port: number
}

export interface PgCluster extends PgClusterInfo {
    /** The URL of database `db` on this cluster. */
    url(db: string): string
    /** Creates database `db` (a fresh, empty one) and returns its URL. */
    createDatabase(db: string): Promise<string>
    /** Stops the server (immediate shutdown) and removes its directory. */
    stop(): void
}

export class PgClusterError extends Error {}

export function postgresInstalled(): boolean {
    return existsSync(join(PG_BIN, "initdb")) && existsSync(join(PG_BIN, "pg_ctl"))
}

const asRoot = () => process.getuid?.() === 0

/** Runs a server program, as `postgres` when we are root; throws with its output on failure. */
function run(program: string, args: string[]) {
    const command = asRoot() ? "runuser" : join(PG_BIN, program)
    const argv = asRoot() ? ["-u", "postgres", "--", join(PG_BIN, program), ...args] : args
    const r = spawnSync(command, argv, { encoding: "utf8" })
    if (r.status !== 0)
        throw new PgClusterError(program + " failed (" + (r.error?.message ?? "exit " + r.status) + "): " + r.stdout + r.stderr)
}

/** Creates and starts a cluster in a new temporary directory (or `dir`, which must not hold one). */
export async function startPgCluster(dir = mkdtempSync(join(tmpdir(), "fl-pg-"))): Promise<PgCluster> {
    if (!postgresInstalled())
        throw new PgClusterError("PostgreSQL 15 is not installed (" + PG_BIN + "/initdb missing): apt-get install postgresql")
    if (asRoot()) {
        const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim())
        const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim())
        if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new PgClusterError("running as root but there is no user postgres")
        chownSync(dir, uid, gid)
    }
    const data = join(dir, "data")
    try {
        // --no-sync: the cluster is thrown away after the run; the server itself still fsyncs.
        run("initdb", ["-D", data, "--auth=trust", "-U", "postgres", "-E", "UTF8", "--no-instructions", "--no-sync"])
        let port = 0
        for (let attempt = 0; ; attempt++) {
            port = await freePort()
            try {
                run("pg_ctl", [
                    "-D",
                    data,
                    "-l",
                    join(dir, "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
                    "start",
                ])
                break
            } catch (e) {
                // Another process took the port between our look and the server's bind.
                if (attempt >= 2) throw e
            }
        }
        return attachPgCluster({ dir, port })
    } catch (e) {
        const log = existsSync(join(dir, "server.log")) ? readFileSync(join(dir, "server.log"), "utf8") : ""
        stopPgCluster(dir)
        if (e instanceof PgClusterError && log) e.message += "\nserver log:\n" + log
        throw e
    }
}

/** The cluster another process started (its directory and port). */
export function attachPgCluster(info: PgClusterInfo): PgCluster {
    const url = (db: string) => `postgres://postgres@127.0.0.1:${info.port}/${db}`
    return {
        ...info,
        url,
        async createDatabase(db: string) {
            if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new PgClusterError("a database name is lower-case letters, digits and _")
            const client = new pg.Client({ connectionString: url("postgres") })
            await client.connect()
            try {
                await client.query(`DROP DATABASE IF EXISTS ${db}`)
                await client.query(`CREATE DATABASE ${db}`)
            } finally {
                await client.end()
            }
            return url(db)
        },
        stop: () => stopPgCluster(info.dir),
    }
}

/** Stops the cluster in `dir` if one runs there, and removes the directory. */
export function stopPgCluster(dir: string) {
    const data = join(dir, "data")
    if (existsSync(join(data, "postmaster.pid")))
        try {
            run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
        } catch {
            // Already gone: nothing to stop.
        }
    rmSync(dir, { recursive: true, force: true })
}
