/**
 * A TCP port the gateway is to listen on: whether it is free, and what to say when it is not,
 * in the same words for `fieldledger gateway` and `fieldledger start`; and a free port to hand a
 * child process (benches, test clusters, end-to-end suites).
 */
import { AddressInfo, createServer } from "node:net"

export function isAddressInUse(e: unknown): boolean {
    return (e as NodeJS.ErrnoException)?.code === "EADDRINUSE"
}

/** The one line a command prints when its port is taken: what, and the fix. */
export function portInUseMessage(command: string, port: number): string {
    return `fieldledger ${command}: port ${port} is in use (another gateway or \`npm start\`?); stop it or pass --port`
}

/**
 * Whether `port` can be listened on now (0 always can). A look, not a reservation: the caller
 * checks this before doing anything it cannot undo, and still handles EADDRINUSE on listen.
 */
export function portIsFree(host: string, port: number): Promise<boolean> {
    if (port === 0) return Promise.resolve(true)
    return new Promise((resolve, reject) => {
        const server = createServer()
        server.once("error", e => (isAddressInUse(e) ? resolve(false) : reject(e)))
        server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)))
    })
}

/** A port free on 127.0.0.1 just now (the system picks it): for a child process to listen on. Not a reservation. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer()
        server.once("error", reject)
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as AddressInfo).port
            server.close(() => resolve(port))
        })
    })
}
