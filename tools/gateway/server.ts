/**
 * Starts the gateway: opens the store, builds the app and serves it on @hono/node-server.
 * Usable from other tools and tests; port 0 picks a free port (see the returned url).
 */
import { serve } from "@hono/node-server"
import type { AddressInfo } from "node:net"
import { createGatewayApp } from "./app"
import { GatewayService } from "./service"
import { GatewayStore } from "./store"

export interface GatewayOptions {
    /** SQLite file (created if absent). */
    db: string
    host?: string
    port?: number
    /** Admin bearer token; without one the admin routes answer 401. */
    adminToken?: string
    /** 32-byte master key sealing the device keys at rest. */
    masterKey: Buffer
    log?: (message: string) => void
    /** The dashboard's base staleness threshold in ms (default 15 minutes). */
    staleAfterMs?: number
    /** How often the dashboard's stream re-sends an unchanged fleet (default 30 s). */
    heartbeatMs?: number
    /** Clock in unix milliseconds for the service and the dashboard (default Date.now; tests set it). */
    now?: () => number
}

export interface RunningGateway {
    url: string
    service: GatewayService
    close(): Promise<void>
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
    const store = new GatewayStore(options.db)
    let service: GatewayService
    try {
        service = new GatewayService({ store, masterKey: options.masterKey, now: options.now })
    } catch (e) {
        store.close()
        throw e
    }
    const app = createGatewayApp({ service, adminToken: options.adminToken, log: options.log, staleAfterMs: options.staleAfterMs, heartbeatMs: options.heartbeatMs, now: options.now })
    const host = options.host ?? "127.0.0.1"
    const { server, info } = await new Promise<{ server: ReturnType<typeof serve>; info: AddressInfo }>((resolve, reject) => {
        const server = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 8787 }, info => resolve({ server, info }))
        server.once("error", reject)
    })
    const shownHost = info.address.includes(":") ? "[" + info.address + "]" : info.address
    return {
        url: "http://" + shownHost + ":" + info.port,
        service,
        close: () =>
            new Promise<void>(resolve => {
                server.close(() => {
                    store.close()
                    resolve()
                })
                ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
            }),
    }
}
