/**
 * A TCP proxy between the simulated device and the gateway that injects network faults:
 * refuse connections (gateway unreachable), or let the request through and throw the reply
 * away after the gateway has answered (the gateway committed, the device never hears of it).
 * Loopback only.
 */
import { createConnection, createServer, Server, Socket } from "node:net"

export type ProxyMode = "pass" | "drop-replies"

export class FaultProxy {
    mode: ProxyMode = "pass"
    /** Requests whose reply was thrown away, and connections passed through. */
    dropped = 0
    passed = 0
    /** Called when a request has reached the gateway (for a kill in the middle of a batch). */
    onForwarded?: () => void
    private server?: Server
    private readonly sockets = new Set<Socket>()

    constructor(
        readonly port: number,
        public upstreamPort: number
    ) {}

    /** Starts accepting connections (the gateway is reachable). */
    async open(): Promise<void> {
        const server = createServer(client => this.handle(client))
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject)
            server.listen(this.port, "127.0.0.1", () => resolve())
        })
        this.server = server
    }

    /** Stops accepting: the device's connections are refused until open() again. */
    async close(): Promise<void> {
        const server = this.server
        this.server = undefined
        for (const s of this.sockets) s.destroy()
        if (server) await new Promise<void>(resolve => server.close(() => resolve()))
    }

    private handle(client: Socket) {
        const upstream = createConnection({ host: "127.0.0.1", port: this.upstreamPort })
        this.sockets.add(client)
        this.sockets.add(upstream)
        const mode = this.mode
        const forget = () => {
            this.sockets.delete(client)
            this.sockets.delete(upstream)
        }
        client.on("close", forget)
        client.on("error", () => upstream.destroy())
        upstream.on("error", () => client.destroy())
        client.on("data", d => {
            upstream.write(d)
            this.onForwarded?.()
        })
        client.on("end", () => upstream.end())
        if (mode === "pass") {
            upstream.on("data", d => client.write(d))
            upstream.on("end", () => {
                this.passed++
                client.end()
            })
        } else {
            // Read the whole reply (the gateway has committed by then), then hang up without it.
            upstream.on("data", () => {})
            upstream.on("end", () => {
                this.dropped++
                client.destroy()
            })
        }
    }
}
