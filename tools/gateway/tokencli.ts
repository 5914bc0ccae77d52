/**
 * `fieldledger gateway token`: creates, lists and revokes read tokens (tokens.ts) in the
 * gateway's database, beside a running gateway or without one (every gateway on the database
 * takes a token at once, and stops taking a revoked one at once: nothing is cached).
 */
import { chmodSync, existsSync, writeFileSync } from "node:fs"
import { commandLine, UsageError } from "../lib/args"
import { describeStore, isPostgresUrl, openStore } from "./openstore"
import type { GatewayStore } from "./store"
import { isReadTokenId, newReadToken, parseDeviceList, ReadTokenRecord, TokenInputError } from "./tokens"

const DB_OPTION = `  --db PATH|URL     the gateway's database (default data/gateway.db, else env FL_DB_URL); it must exist`

export const TOKEN_HELP = `Usage: fieldledger gateway token create --read [--devices ID,ID] [--label L] [--token-file FILE] [--db PATH|URL]
       fieldledger gateway token list [--db PATH|URL] [--json]
       fieldledger gateway token revoke ID [--db PATH|URL]

Read tokens let a person or a program read the gateway: the fleet, device pages, readings,
blocks, exports, events and the dashboard (docs/API.md, "Access"). They are distinct from the
admin token, which registers devices. The database keeps only each token's SHA-256: a token
is shown once, when it is created. Run 'fieldledger gateway token COMMAND --help' for more.`

export const TOKEN_CREATE_HELP = `Usage: fieldledger gateway token create --read [--devices ID,ID] [--label L] [--token-file FILE] [--db PATH|URL]

Creates a read token and prints it once (or writes it to --token-file, mode 0600, printing
nothing secret). Give it to an API client as 'Authorization: Bearer TOKEN', or paste it into
the dashboard's sign-in form.

Options:
  --read            the kind of token: reads (the only kind; required, so the kind is explicit)
  --devices ID,ID   only these devices (16 hex digits each): the token sees the others as
                    unregistered (404) and the fleet without them; default every device
${DB_OPTION}
  --label L         a name to recognise it by in 'token list' (who has it, what for)
  --token-file FILE write the token here (mode 0600) instead of printing it
  -h, --help        this help`

export const TOKEN_LIST_HELP = `Usage: fieldledger gateway token list [--db PATH|URL] [--json]

Lists the read tokens: id, label, devices, created, revoked. Never the tokens themselves
(the database does not hold them).

Options:
${DB_OPTION}
  --json            one JSON object on stdout
  -h, --help        this help`

export const TOKEN_REVOKE_HELP = `Usage: fieldledger gateway token revoke ID [--db PATH|URL]

Revokes the read token with this id (12 hex digits, from 'token list'): every gateway on the
database refuses it from its next request on (401), and an open dashboard stream ends.

Options:
${DB_OPTION}
  -h, --help        this help`

function dbOf(db: string | undefined): string {
    return db ?? (process.env.FL_DB_URL || "data/gateway.db")
}

async function withStore<T>(db: string, work: (store: GatewayStore) => Promise<T>): Promise<T> {
    // A token in a database no gateway uses would be a token nobody takes: a mistyped path is refused, not created.
    if (!isPostgresUrl(db) && !existsSync(db))
        throw new UsageError("no gateway database at " + db + ": give the gateway's --db (or start the gateway once to create it)")
    const store = await openStore(db)
    try {
        return await work(store)
    } finally {
        await store.close()
    }
}

function describeToken(t: ReadTokenRecord): string {
    const devices = t.devices === null ? "every device" : t.devices.join(",")
    const state = t.revokedAt === null ? "valid" : "revoked " + new Date(t.revokedAt).toISOString()
    return `${t.id}  ${t.label ?? "-"}  ${devices}  created ${new Date(t.createdAt).toISOString()}  ${state}`
}

/** Creates a read token in the store at `db` (for `npm start`, tests and the command). */
export async function createReadToken(store: GatewayStore, o: { label?: string; devices?: string[] | null; now?: number }) {
    const { token, record } = newReadToken({ label: o.label ?? null, devices: o.devices ?? null, now: o.now ?? Date.now() })
    await store.tokens.insert(record)
    return { token, id: record.id }
}

export async function runToken(argv: string[]): Promise<number> {
    const [sub, ...rest] = argv
    if (sub === "create") return create(rest)
    if (sub === "list") return list(rest)
    if (sub === "revoke") return revoke(rest)
    if (sub === undefined || sub === "--help" || sub === "-h") {
        console.log(TOKEN_HELP)
        return sub === undefined ? 2 : 0
    }
    throw new UsageError("unknown token command '" + sub + "' (create, list or revoke)")
}

async function create(argv: string[]): Promise<number> {
    const cli = commandLine(
        argv,
        {
            read: { type: "boolean" },
            devices: { type: "string" },
            label: { type: "string" },
            db: { type: "string" },
            "token-file": { type: "string" },
        },
        TOKEN_CREATE_HELP
    )
    if (!cli) return 0
    if (!cli.boolean("read")) throw new UsageError("say which kind of token: --read (read tokens are the only kind)")
    let devices: string[] | null = null
    const listed = cli.string("devices")
    if (listed !== undefined) {
        try {
            devices = parseDeviceList(listed)
        } catch (e) {
            if (e instanceof TokenInputError) throw new UsageError(e.message)
            throw e
        }
    }
    const label = cli.string("label")
    if (label !== undefined && (label.length > 200 || /[\u0000-\u001f]/.test(label)))
        throw new UsageError("--label: at most 200 characters, no control characters")
    const db = dbOf(cli.string("db"))
    return withStore(db, async store => {
        const unknown: string[] = []
        for (const id of devices ?? []) if (!(await store.device(id))) unknown.push(id)
        const { token, id } = await createReadToken(store, { label, devices })
        const scope = devices === null ? "every device" : "devices " + devices.join(", ")
        console.error(`read token ${id} created in ${describeStore(db)}: reads ${scope}${label ? " (" + label + ")" : ""}`)
        if (unknown.length > 0) console.error(`note: not registered (yet): ${unknown.join(", ")}; the token will read them once they are`)
        const file = cli.string("token-file")
        if (file) {
            writeFileSync(file, token + "\n", { mode: 0o600 })
            chmodSync(file, 0o600)
            console.error(`wrote the token to ${file} (mode 0600); it is not shown again`)
        } else {
            console.error("the token (shown once; the gateway keeps only its hash):")
            console.log(token)
        }
        return 0
    })
}

async function list(argv: string[]): Promise<number> {
    const cli = commandLine(argv, { db: { type: "string" }, json: { type: "boolean" } }, TOKEN_LIST_HELP)
    if (!cli) return 0
    return withStore(dbOf(cli.string("db")), async store => {
        const tokens = await store.tokens.list()
        if (cli.boolean("json")) console.log(JSON.stringify({ tokens }))
        else if (tokens.length === 0) console.log("no read tokens")
        else for (const t of tokens) console.log(describeToken(t))
        return 0
    })
}

async function revoke(argv: string[]): Promise<number> {
    const cli = commandLine(argv, { db: { type: "string" } }, TOKEN_REVOKE_HELP, { positionals: "own" })
    if (!cli) return 0
    const [id, extra] = cli.positionals
    if (id === undefined) throw new UsageError("which token? token revoke ID (ids from 'token list')")
    if (extra !== undefined) throw new UsageError("unexpected argument " + extra)
    if (!isReadTokenId(id)) throw new UsageError("a token id is 12 lower-case hex digits (from 'token list')")
    return withStore(dbOf(cli.string("db")), async store => {
        const outcome = await store.tokens.revoke(id, Date.now())
        if (outcome === "unknown") {
            console.error(`fieldledger gateway token revoke: no read token ${id}`)
            return 1
        }
        console.log(outcome === "revoked" ? `read token ${id} revoked` : `read token ${id} was already revoked`)
        return 0
    })
}
