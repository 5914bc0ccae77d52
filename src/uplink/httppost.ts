/**
 * A small HTTP/1.1 POST over the runtime's socket, for sync. @devicescript/net's fetch waits
 * forever for a reply that never comes (its reads have no timeout), which would stall sync
 * behind one dead gateway; here every step has a deadline and the reply is bounded in size
 * (the device buffers all of it).
 */
import * as ds from "@devicescript/core"
import { connect, URL } from "@devicescript/net"
import { joinBytes } from "../lib/codec/bytes"
import { HttpReply, parseHttpReply } from "../lib/sync/httpreply"

/** Gateway replies are far smaller (docs/API.md); anything larger is not one. */
const MAX_REPLY_BYTES = 2048

export async function httpPost(url: string, body: Buffer, contentType: string, timeoutMs: number): Promise<HttpReply> {
    const u = new URL(url)
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError("gateway URL must be http(s): " + url)
    const tls = u.protocol === "https:"
    const port = u.port ? parseInt(u.port) : tls ? 443 : 80
    const deadline = ds.millis() + timeoutMs
    const socket = await connect({ host: u.hostname, port, proto: tls ? "tls" : "tcp", timeout: timeoutMs })
    try {
        const head =
            "POST " +
            u.path() +
            " HTTP/1.1\r\nhost: " +
            u.host() +
            "\r\ncontent-type: " +
            contentType +
            "\r\ncontent-length: " +
            body.length +
            "\r\nconnection: close\r\n\r\n"
        await socket.send(head)
        await socket.send(body)
        const parts: Buffer[] = []
        let size = 0
        while (true) {
            const left = deadline - ds.millis()
            if (left <= 0) throw new Error("no complete reply within " + timeoutMs + " ms")
            const chunk = await socket.recv(left)
            if (chunk === null) break
            if (chunk === undefined) continue
            size += chunk.length
            if (size > MAX_REPLY_BYTES) throw new Error("reply over " + MAX_REPLY_BYTES + " bytes")
            parts.push(chunk)
        }
        return parseHttpReply(joinBytes(parts))
    } finally {
        await socket.close()
    }
}
