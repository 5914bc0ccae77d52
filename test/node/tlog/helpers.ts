/** A gateway in process with a log key, and an audit source over its app (no sockets). */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createGatewayApp } from "../../../tools/gateway/app"
import { GatewayService } from "../../../tools/gateway/service"
import { SqliteStore } from "../../../tools/gateway/store"
import { logIdentity } from "../../../tools/gateway/tlog/logkey"
import { AuditSource } from "../../../tools/lib/tlog/audit"
import { tilePath } from "../../../tools/lib/tlog/tiles"
import { ADMIN_TOKEN, MASTER_KEY, NOW, TestGateway } from "../gateway/helpers"
import { createReadToken } from "../../../tools/gateway/tokencli"

export const LOG_SEED = Buffer.alloc(32, 0x42)
export const LOG = logIdentity(LOG_SEED, "fieldledger.test/log")

export interface LogGateway extends TestGateway {
    /** Integrates and signs now (the interval's work). */
    sign(): Promise<void>
}

export async function openLogGateway(dir = mkdtempSync(join(tmpdir(), "fl-tlog-")), now: () => number = () => NOW): Promise<LogGateway> {
    const dbPath = join(dir, "gateway.db")
    const store = new SqliteStore(dbPath)
    const service = await GatewayService.open({ store, masterKey: MASTER_KEY, now, log: LOG })
    const app = createGatewayApp({ service, adminToken: ADMIN_TOKEN, log: () => {}, now })
    const { token: readToken } = await createReadToken(store, { label: "tlog test" })
    return {
        dir,
        dbPath,
        store,
        service,
        app,
        readToken,
        close: () => store.close(),
        sign: async () => {
            await service.logIntegrator.checkpoint()
        },
    }
}

/** The log's routes are public; the exports it compares need the read token (when the gateway has one). */
export function appSource(gw: { app: TestGateway["app"]; readToken?: string }): AuditSource {
    const get = async (path: string) =>
        gw.app.request(path, gw.readToken ? { headers: { authorization: "Bearer " + gw.readToken } } : undefined)
    const ok = async (path: string) => {
        const res = await get(path)
        if (res.status !== 200) throw new Error("GET " + path + ": " + res.status + " " + (await res.text()))
        return res
    }
    return {
        checkpoint: async () => (await ok("/v1/log/checkpoint")).text(),
        checkpointAt: async size => {
            const res = await get("/v1/log/checkpoints/" + size)
            return res.status === 404 ? undefined : res.text()
        },
        consistency: async (from, to) =>
            ((await (await ok("/v1/log/proof/consistency?from=" + from + "&to=" + to)).json()).proof as string[]).map(p =>
                Buffer.from(p, "base64")
            ),
        bundle: async (index, width) => Buffer.from(await (await ok("/v1/log/" + tilePath("entries", index, width))).arrayBuffer()),
        exportOf: async id => {
            const res = await get("/v1/devices/" + id + "/export")
            return res.status === 404 ? undefined : res.text()
        },
    }
}
