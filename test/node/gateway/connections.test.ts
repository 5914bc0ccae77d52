/**
 * What one client can hold on a real server, seen from raw sockets: a request that never
 * finishes is closed within the server's limits, connections beyond the cap are refused, and
 * an oversize body gets its 413 (never a reset), a cut-off one no log line.
 */
import { mkdtempSync } from "node:fs"
import { connect, Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { RunningGateway, startGateway } from "../../../tools/gateway/server"
import { testKey } from "../helpers/chains"
import { ADMIN_TOKEN, ID, MASTER_KEY, removeDir } from "./helpers"

const MAX_CONNECTIONS = 6
let gateway: RunningGateway
let port: number
const logged: string[] = []
const dir = mkdtempSync(join(tmpdir(), "fl-gateway-conn-"))
beforeAll(async () => {
    gateway = await startGateway({
        db: join(dir, "g.db"),
        port: 0,
        adminToken: ADMIN_TOKEN,
        masterKey: MASTER_KEY,
        log: m => logged.push(m),
        limits: {
            headersTimeoutMs: 500,
            requestTimeoutMs: 1000,
            keepAliveTimeoutMs: 500,
            maxConnections: MAX_CONNECTIONS,
            checkIntervalMs: 100,
        },
    })
    await gateway.service.register({ deviceId: ID, key0: testKey().toString("hex") })
    port = Number(new URL(gateway.url).port)
})
afterAll(async () => {
    await gateway.close()
    removeDir(dir)
})

/** Opens a socket, writes `request`, and resolves with everything it read once the server closes it. */
function exchange(request: string | Buffer, keep?: (s: Socket) => void): Promise<{ reply: string; error?: string }> {
    return new Promise(resolve => {
        const s = connect(port, "127.0.0.1")
        let reply = ""
        s.on("data", d => (reply += d))
        s.on("error", e => resolve({ reply, error: (e as NodeJS.ErrnoException).code }))
        s.on("close", () => resolve({ reply }))
        s.on("connect", () => {
            if (request.length) s.write(request)
            keep?.(s)
        })
    })
}

const BLOCKS = "/v1/devices/" + ID + "/blocks"

describe("connection limits", () => {
    test("a request declaring a 999,999,999-byte body and sending nothing is answered 408 and closed", async () => {
        const { reply } = await exchange(
            "POST " + BLOCKS + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 999999999\r\n\r\n"
        )
        expect(reply).toMatch(/^HTTP\/1\.1 408/)
    })

    test("headers that never end are answered 408 and closed", async () => {
        const { reply } = await exchange("GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        expect(reply).toMatch(/^HTTP\/1\.1 408/)
    })

    test("connections beyond the cap are closed on arrival; the others are served", async () => {
        const held: Socket[] = []
        const replies: Promise<{ reply: string }>[] = []
        for (let i = 0; i < MAX_CONNECTIONS; i++) replies.push(exchange("GET /v1/health HTTP/1.1\r\nHost: x\r\n", s => held.push(s)))
        await new Promise(r => setTimeout(r, 100))
        const extra = await exchange("GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        expect(extra.reply).toBe("")
        for (const s of held) s.end("\r\n")
        for (const r of await Promise.all(replies)) expect(r.reply).toMatch(/^HTTP\/1\.1 200/)
    })

    test("an oversize body gets its 413 every time, never a reset", async () => {
        for (let i = 0; i < 10; i++) {
            const res = await fetch(gateway.url + BLOCKS, {
                method: "POST",
                headers: { "content-type": "application/octet-stream" },
                body: new Uint8Array(1_000_000).fill(1),
            })
            expect(res.status).toBe(413)
            expect((await res.json()).error).toBe("too-large")
        }
    })

    test("an upload the client cuts off is not logged as a gateway error", async () => {
        for (let i = 0; i < 3; i++)
            await exchange(
                "POST " +
                    BLOCKS +
                    " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n" +
                    "x".repeat(5000 * (i + 1)),
                s => setTimeout(() => s.destroy(), 50)
            )
        await new Promise(r => setTimeout(r, 200))
        expect(logged).toEqual([])
    })
})
