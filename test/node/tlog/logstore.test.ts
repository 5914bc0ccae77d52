/** The LogStore contract (logstore-contract.ts) on the SQLite store, in the gateway's database. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SqliteStore } from "../../../tools/gateway/store"
import { logStoreContract } from "./logstore-contract"

logStoreContract("SQLite", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fl-logstore-"))
    const gateway = new SqliteStore(join(dir, "g.db"))
    return {
        store: gateway.log,
        close: async () => {
            await gateway.close()
            rmSync(dir, { recursive: true, force: true })
        },
    }
})
