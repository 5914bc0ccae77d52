/**
 * Starts the gateway: opens the store, builds the app and serves it on @hono/node-server.
 * Usable from other tools and tests; port 0 picks a free port (see the returned url).
 */
import { serve } from "@hono/node-server"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { createGatewayApp } from "./app"
import { GatewayService } from "./service"
import { openStore } from "./openstore"
import { DEFAULT_CHECKPOINT_INTERVAL_MS } from "./tlog/integrator"
import type { LogIdentity } from "./tlog/logkey"

export interface GatewayOptions {
    /** SQLite file (created if absent) or postgres:// URL (openstore.ts). */
    db: string
    host?: string
    port?: number
    /** Admin bearer token; without one the admin routes answer 401. */
    adminToken?: string
    /** Reads open to anyone, no read token needed (readauth.ts). */
    publicRead?: boolean
    /** 32-byte master key sealing the device keys at rest. */
    masterKey: Buffer
    log?: (message: string) => void
    /** The dashboard's base staleness threshold in ms (default 15 minutes). */
    staleAfterMs?: number
    /** How often the dashboard's stream re-sends an unchanged fleet (default 30 s). */
    heartbeatMs?: number
    /** Clock in unix milliseconds for the service and the dashboard (default Date.now; tests set it). */
    now?: () => number
    /** Connection limits (default SERVER_LIMITS). */
    limits?: Partial<ServerLimits>
    /** The log key and origin; without them the log signs nothing (tlog/logkey.ts). */
    logKey?: LogIdentity
    /** How often a checkpoint is signed when leaves arrived (default 10 s). */
    checkpointIntervalMs?: number
}

/**
 * What one client may hold: without these a request declaring a huge body and sending nothing
 * keeps its connection (and its memory) forever, and enough of them exhaust the process's files.
 */
export interface ServerLimits {
    /** All the headers must arrive within this (Node answers 408 and closes). */
    headersTimeoutMs: number
    /** The whole request, body included, must arrive within this. A 16 KB batch needs far less. */
    requestTimeoutMs: number
    /** An idle kept-alive connection is closed after this. */
    keepAliveTimeoutMs: number
    /** Connections beyond this many are closed on arrival. */
    maxConnections: number
    /** How often Node checks the two request timeouts (they fire up to this much late). */
    checkIntervalMs: number
}

export const SERVER_LIMITS: ServerLimits = {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 5_000,
    maxConnections: 1024,
    checkIntervalMs: 1_000,
}

export interface RunningGateway {
    url: string
    service: GatewayService
    close(): Promise<void>
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
    const store = await openStore(options.db)
    let service: GatewayService
    try {
        service = await GatewayService.open({ store, masterKey: options.masterKey, now: options.now, log: options.logKey })
        // Integrates what an earlier run left and signs, so the checkpoint route answers at once.
        await service.logIntegrator?.checkpoint()
    } catch (e) {
        await store.close()
        throw e
    }
    const log = options.log ?? ((m: string) => console.error(m))
    const stopIntegrator = service.logIntegrator?.start(options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS, e =>
        log("gateway: the log's integrator failed: " + (e instanceof Error ? e.message : String(e)))
    )
    const app = createGatewayApp({
        service,
        adminToken: options.adminToken,
        publicRead: options.publicRead,
        log: options.log,
        staleAfterMs: options.staleAfterMs,
        heartbeatMs: options.heartbeatMs,
        now: options.now,
    })
    const host = options.host ?? "127.0.0.1"
    const limits: ServerLimits = { ...SERVER_LIMITS, ...options.limits }
    const { server, info } = await new Promise<{ server: ReturnType<typeof serve>; info: AddressInfo }>((resolve, reject) => {
        const server = serve(
            {
                fetch: app.fetch,
                hostname: host,
                port: options.port ?? 8787,
                serverOptions: {
                    headersTimeout: limits.headersTimeoutMs,
                    requestTimeout: limits.requestTimeoutMs,
                    keepAliveTimeout: limits.keepAliveTimeoutMs,
                    connectionsCheckingInterval: limits.checkIntervalMs,
                },
            },
            info => resolve({ server, info })
        )
        ;(server as Server).maxConnections = limits.maxConnections
        server.once("error", reject)
    })
    const shownHost = info.address.includes(":") ? "[" + info.address + "]" : info.address
    return {
        url: "http://" + shownHost + ":" + info.port,
        service,
        close: () =>
            new Promise<void>(resolve => {
                server.close(async () => {
                    await stopIntegrator?.()
                    void store.close().then(resolve, resolve)
                })
                ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
            }),
    }
}
