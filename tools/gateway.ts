/**
 * `fieldledger gateway`: serves the gateway's HTTP API (docs/API.md) on a SQLite store. A thin
 * command over tools/gateway/server.ts; `registerDevice` registers without HTTP.
 */
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { commandLine, durationOption, portOption, readAdminToken, UsageError } from "./lib/args"
import { loadMasterKey, KeyVaultError } from "./gateway/keyvault"
import { startGateway } from "./gateway/server"
import { GatewayService, RegisterDevice } from "./gateway/service"
import { describeStore, openStore } from "./gateway/openstore"
import { HttpError } from "./gateway/errors"
import { DEFAULT_STALE_AFTER_MS } from "./dashboard/routes"
import { isAddressInUse, portInUseMessage } from "./lib/ports"

export const GATEWAY_HELP = `Usage: fieldledger gateway [--db PATH] [--port N] [--host ADDR] [--admin-token-file FILE] [--master-key-file FILE] [--stale-after DURATION]

Runs the fieldledger gateway: devices post their sealed blocks to it, it verifies every block
(tag under its epoch key, link, seq) and stores them in SQLite; operators read the fleet,
readings and exports over HTTP (docs/API.md).

Options:
  --db PATH                SQLite database (default data/gateway.db; created if absent)
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
  -h, --help               this help`

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
    const cli = commandLine(
        argv,
        {
            db: { type: "string" },
            port: { type: "string" },
            host: { type: "string" },
            "admin-token-file": { type: "string" },
            "master-key-file": { type: "string" },
            "stale-after": { type: "string" },
        },
        GATEWAY_HELP
    )
    if (!cli) return 0
    const db = cli.string("db") ?? "data/gateway.db"
    const port = portOption(cli, 8787)
    const host = cli.string("host") ?? "127.0.0.1"
    const staleAfterMs = durationOption(cli, "stale-after", DEFAULT_STALE_AFTER_MS)

    const adminToken = readAdminToken(cli.string("admin-token-file"))
    let master
    try {
        master = loadMasterKey({
            envValue: process.env.FL_MASTER_KEY || undefined,
            file: cli.string("master-key-file"),
            defaultFile: defaultMasterKeyFile(),
            legacyFile: masterKeyBesideDatabase(db),
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
        gateway = await startGateway({ db, host, port, adminToken, masterKey: master.key, staleAfterMs })
    } catch (e) {
        if (e instanceof KeyVaultError) {
            console.error("fieldledger gateway: " + e.message)
            return 1
        }
        if (isAddressInUse(e)) {
            console.error(portInUseMessage("gateway", port))
            return 1
        }
        throw e
    }
    console.log(`fieldledger gateway listening on ${gateway.url} (database ${db}, master key from ${master.from})`)
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
