/**
 * `fieldledger gateway`: serves the gateway's HTTP API (docs/API.md) on a SQLite store or, for
 * a fleet of gateways, on PostgreSQL (docs/DEPLOY.md). A thin command over
 * tools/gateway/server.ts; `registerDevice` registers without HTTP; `fieldledger gateway copy`
 * moves a SQLite database into PostgreSQL (tools/gateway/copy.ts).
 */
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { commandLine, durationOption, portOption, readAdminToken, UsageError } from "./lib/args"
import { loadMasterKey, KeyVaultError } from "./gateway/keyvault"
import { startGateway } from "./gateway/server"
import { DEFAULT_CHECKPOINT_INTERVAL_MS } from "./gateway/tlog/integrator"
import { defaultLogKeyFile, loadLogKey, LogIdentity, logIdentity, LogKey, LogKeyError } from "./gateway/tlog/logkey"
import { GatewayService, RegisterDevice } from "./gateway/service"
import { existsSync } from "node:fs"
import { copyStore } from "./gateway/copy"
import { describeStore, isPostgresUrl, openStore } from "./gateway/openstore"
import { PgStore } from "./gateway/pgstore"
import { SqliteStore, StoreError } from "./gateway/store"
import { HttpError } from "./gateway/errors"
import { runToken } from "./gateway/tokencli"
import { DEFAULT_STALE_AFTER_MS } from "./dashboard/routes"
import { isAddressInUse, portInUseMessage } from "./lib/ports"

/** The line a gateway started with --public-read prints: nobody should run one by accident. */
export const PUBLIC_READ_WARNING =
    "WARNING: reads are public (--public-read): anyone who can reach this gateway reads every device's readings, blocks, exports, events and the dashboard, without a token"

export const GATEWAY_HELP = `Usage: fieldledger gateway [--db PATH|URL] [--port N] [--host ADDR] [--admin-token-file FILE] [--master-key-file FILE] [--stale-after DURATION]
                          [--log-key-file FILE] [--log-origin NAME] [--checkpoint-interval DURATION] [--print-log-key] [--public-read]

Runs the fieldledger gateway: devices post their sealed blocks to it, it verifies every block
(tag under its epoch key, link, seq) and stores them in SQLite or PostgreSQL; operators read
the fleet, readings and exports over HTTP (docs/API.md) with a read token, and the dashboard
at / after signing in with one. Several gateways may share one PostgreSQL database
(docs/DEPLOY.md).

Options:
  --db PATH|URL            SQLite database file (default data/gateway.db; created if absent),
                           or postgres://USER@HOST:PORT/DB for PostgreSQL (else env FL_DB_URL)
  --port N                 TCP port (default 8787; 0 picks a free one)
  --host ADDR              address to listen on (default 127.0.0.1)
  --admin-token-file FILE  file holding the admin token (else env FL_ADMIN_TOKEN; without
                           either, registration and key succession over HTTP are off)
  --master-key-file FILE   file holding the master key, 64 hex digits (else env FL_MASTER_KEY;
                           without either, $XDG_CONFIG_HOME/fieldledger/master.key, by default
                           ~/.config/fieldledger/master.key, created once, mode 0600; a key
                           at the old default <db dir>/gateway-master.key is still used, with
                           a message saying how to move it)
  --stale-after DURATION   the dashboard shows a device as stale when no new block of it has
                           arrived for this long plus twice its block period (a device syncs
                           when it seals a block: about hourly on hardware defaults); this long
                           alone until the period is known. Minutes (15) or a number with a
                           unit: 90s, 20m, 2h, 1d (default 15 min)
  --log-key-file FILE      the Ed25519 key the transparency log signs its checkpoints with,
                           64 hex digits (else env FL_LOG_KEY: the gateways of one fleet
                           share it; else $XDG_CONFIG_HOME/fieldledger/log.key, by
                           default ~/.config/fieldledger/log.key, created once, mode 0600;
                           keep it apart from the database, like the master key)
  --log-origin NAME        the log's checkpoint origin and key name (default derived from the
                           key: fieldledger.invalid/log/<16 hex digits>); never change it
  --checkpoint-interval DURATION
                           sign a checkpoint this often when blocks arrived (default 10s)
  --print-log-key          print the log's verifier key (what auditors give fieldledger audit
                           --log-key) and exit; creates the key if absent
  --public-read            anyone may read, without a token (a demo, or data that is public
                           anyway); the gateway prints a warning saying so. By default every
                           read needs a read token or the admin token
  -h, --help               this help

Also: fieldledger gateway token create --read [--devices ID,ID] [--label L]   (read tokens; --help)
      fieldledger gateway token list | token revoke ID
      fieldledger gateway copy --from data/gateway.db --to postgres://...   (--help)`

export const COPY_HELP = `Usage: fieldledger gateway copy --from PATH --to URL

Copies a gateway's SQLite database into PostgreSQL, to move a site to a fleet of gateways
(docs/DEPLOY.md): every device, its key (still sealed under the master key: start the fleet
with the same master key), block, gap record, security event and closed chain. Stop the
SQLite gateway first. Resumable and idempotent: run it again after an interruption, or to
check a finished copy (it writes nothing new). It ends by comparing both databases device by
device and exits 1 if anything differs.

Options:
  --from PATH   the SQLite database (must exist)
  --to URL      postgres://USER@HOST:PORT/DB (created tables are migrated as the gateway does)
  -h, --help    this help`

/**
 * Where the master key lives when none is given: in the user's configuration directory, apart
 * from the database (docs/SECURITY.md: whoever copies the database alone opens no device key).
 */
export function defaultMasterKeyFile(env: NodeJS.ProcessEnv = process.env): string {
    return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "fieldledger", "master.key")
}

/** The default of earlier versions, beside the database: still read so no deployment gets a new key. */
export function masterKeyBesideDatabase(db: string): string {
    return join(dirname(db), "gateway-master.key")
}

/**
 * Registers a device in the database at `db` without HTTP (for `npm start` and tests). The
 * master key must be the gateway's. Throws HttpError 409 when already registered, 400 on bad input.
 */
export async function registerDevice(options: { db: string; masterKey: Buffer }, device: RegisterDevice) {
    const store = await openStore(options.db)
    try {
        return await (await GatewayService.open({ store, masterKey: options.masterKey })).register(device)
    } finally {
        await store.close()
    }
}

export async function runGateway(argv: string[]): Promise<number> {
    if (argv[0] === "copy") return runCopy(argv.slice(1))
    if (argv[0] === "token") return runToken(argv.slice(1))
    const cli = commandLine(
        argv,
        {
            db: { type: "string" },
            port: { type: "string" },
            host: { type: "string" },
            "admin-token-file": { type: "string" },
            "master-key-file": { type: "string" },
            "stale-after": { type: "string" },
            "public-read": { type: "boolean" },
            "log-key-file": { type: "string" },
            "log-origin": { type: "string" },
            "checkpoint-interval": { type: "string" },
            "print-log-key": { type: "boolean" },
        },
        GATEWAY_HELP
    )
    if (!cli) return 0
    const db = cli.string("db") ?? (process.env.FL_DB_URL || "data/gateway.db")
    const port = portOption(cli, 8787)
    const host = cli.string("host") ?? "127.0.0.1"
    const staleAfterMs = durationOption(cli, "stale-after", DEFAULT_STALE_AFTER_MS)
    const publicRead = cli.boolean("public-read")

    const checkpointIntervalMs = durationOption(cli, "checkpoint-interval", DEFAULT_CHECKPOINT_INTERVAL_MS)
    let logKey: LogKey
    let logId: LogIdentity
    try {
        logKey = cli.string("log-key-file")
            ? loadLogKey(cli.string("log-key-file"), { create: true })
            : loadLogKey(defaultLogKeyFile(), { create: true, envValue: process.env.FL_LOG_KEY || undefined })
        logId = logIdentity(logKey.seed, cli.string("log-origin"))
    } catch (e) {
        if (e instanceof LogKeyError) throw new UsageError(e.message)
        throw e
    }
    // With --print-log-key, stdout carries the verifier key alone.
    const note = cli.boolean("print-log-key") ? console.error : console.log
    if (logKey.created) note(`created a new log key in ${logKey.from} (mode 0600): auditors trust its public half; keep it`)
    if (cli.boolean("print-log-key")) {
        console.log(logId.verifierKey)
        return 0
    }

    const adminToken = readAdminToken(cli.string("admin-token-file"))
    let master
    try {
        master = loadMasterKey({
            envValue: process.env.FL_MASTER_KEY || undefined,
            file: cli.string("master-key-file"),
            defaultFile: defaultMasterKeyFile(),
            legacyFile: isPostgresUrl(db) ? undefined : masterKeyBesideDatabase(db),
        })
    } catch (e) {
        if (e instanceof KeyVaultError) throw new UsageError(e.message)
        throw e
    }
    if (master.legacy)
        console.log(
            `the master key is beside the database (${master.from}), where earlier versions created it; a copy of that directory opens every device key. ` +
                `Move it away from the database: mkdir -p -m 700 ${dirname(defaultMasterKeyFile())} && mv ${master.from} ${defaultMasterKeyFile()} (or keep it anywhere else with --master-key-file)`
        )
    if (master.created)
        console.log(
            `created a new master key in ${master.from} (mode 0600): keep it with the database; without it the device keys cannot be opened`
        )

    let gateway
    try {
        gateway = await startGateway({
            db,
            host,
            port,
            adminToken,
            masterKey: master.key,
            staleAfterMs,
            logKey: logId,
            checkpointIntervalMs,
            publicRead,
        })
    } catch (e) {
        if (e instanceof KeyVaultError) {
            console.error("fieldledger gateway: " + e.message)
            return 1
        }
        if (isAddressInUse(e)) {
            console.error(portInUseMessage("gateway", port))
            return 1
        }
        if (e instanceof StoreError || isDatabaseUnreachable(e)) {
            console.error(`fieldledger gateway: database ${describeStore(db)}: ${(e as Error).message || "unreachable"}`)
            return 1
        }
        throw e
    }
    // Before the "listening" line, which tools wait for: whoever has read that has read this.
    if (publicRead) console.log(PUBLIC_READ_WARNING)
    else
        console.log(
            "reads need a read token (fieldledger gateway token create --read) or the admin token; the dashboard asks for one at /signin"
        )
    console.log(`fieldledger gateway listening on ${gateway.url} (database ${describeStore(db)}, master key from ${master.from})`)
    console.log(`transparency log ${logId.origin} at ${gateway.url}/v1/log (key from ${logKey.from}; verifier key ${logId.verifierKey})`)
    if (!adminToken)
        console.log("no admin token (FL_ADMIN_TOKEN or --admin-token-file): registration and key succession over HTTP are disabled")
    await new Promise<void>(resolve => {
        process.once("SIGINT", resolve)
        process.once("SIGTERM", resolve)
    })
    await gateway.close()
    console.log("fieldledger gateway stopped")
    return 0
}

export { HttpError }

/** `fieldledger gateway copy`: SQLite to PostgreSQL, with progress, then a verification. */
export async function runCopy(argv: string[]): Promise<number> {
    const cli = commandLine(argv, { from: { type: "string" }, to: { type: "string" } }, COPY_HELP)
    if (!cli) return 0
    const from = cli.string("from")
    const to = cli.string("to")
    if (!from || !to) throw new UsageError("copy needs --from PATH and --to URL")
    if (!isPostgresUrl(to)) throw new UsageError("--to must be a postgres:// URL")
    if (isPostgresUrl(from) || !existsSync(from)) throw new UsageError("--from must be an existing SQLite database file")
    let source: SqliteStore | undefined
    let target: PgStore | undefined
    try {
        source = new SqliteStore(from)
        target = await PgStore.open(to)
        console.log(`copying ${from} into ${describeStore(to)}`)
        let shown = ""
        const report = await copyStore(source, target, {
            onProgress: p => {
                const line = `device ${p.deviceIndex + 1}/${p.devices} ${p.device}: ${p.blocks}/${p.sourceBlocks} blocks`
                if (line !== shown) console.log("  " + line)
                shown = line
            },
        })
        console.log(
            `copied ${report.devices} devices (${report.blocksCopied} blocks written by this run, ${report.events} security events, ${report.successionChains} closed chains)`
        )
        if (report.differences.length > 0) {
            console.error("fieldledger gateway copy: the target differs from the source:\n  " + report.differences.join("\n  "))
            return 1
        }
        console.log("verified: every device, block, gap record, event and closed chain in the target matches the source")
        return 0
    } catch (e) {
        if (e instanceof StoreError || isDatabaseUnreachable(e)) {
            console.error("fieldledger gateway copy: " + (e as Error).message)
            return 1
        }
        throw e
    } finally {
        source?.db.close()
        await target?.close()
    }
}

/** A PostgreSQL server that cannot be reached or refuses us: a message, not a stack trace. */
function isDatabaseUnreachable(e: unknown): boolean {
    const code = (e as { code?: string })?.code ?? ""
    // Socket errors, and PostgreSQL's classes 08 (connection) and 28 (authorization), 3D000 (no such database).
    return ["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ETIMEDOUT"].includes(code) || /^(08|28)/.test(code) || code === "3D000"
}
