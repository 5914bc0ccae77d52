/**
 * A small HTTP/1.1 POST over the runtime's socket, for sync. @devicescript/net's fetch waits
 * forever for a reply that never comes (its reads have no timeout), which would stall sync
 * behind one dead gateway; here every step has a deadline and the reply is bounded in size
 * (the device buffers all of it).
 */
import * as ds from "@devicescript/core"
import { connect } from "@devicescript/net"
import { joinBytes } from "../lib/codec/bytes"
import { HttpReply, parseHttpReply } from "../lib/sync/httpreply"

/** Gateway replies are far smaller (docs/API.md); anything larger is not one. */
const MAX_REPLY_BYTES = 2048

export async function httpPost(url: string, body: Buffer, contentType: string, timeoutMs: number): Promise<HttpReply> {
    // The URL is syncUrl()'s: a gateway URL that passed isGatewayUrl (src/lib/sync/gatewayurl.ts),
    // then a path and a query. Split here rather than with @devicescript/net's URL class (about
    // 1 KB of function code, docs/DEVICESCRIPT.md): scheme, optional user:pass@ (dropped, as URL
    // did), host[:port], then the path with its query.
    const tls = url.startsWith("https://")
    if (!tls && !url.startsWith("http://")) throw new TypeError("gateway URL must be http(s): " + url)
    let rest = url.slice(tls ? 8 : 7)
    let slash = rest.indexOf("/")
    const at = rest.indexOf("@")
    if (at >= 0 && (slash < 0 || at < slash)) {
        rest = rest.slice(at + 1)
        slash = rest.indexOf("/")
    }
    const host = slash < 0 ? rest : rest.slice(0, slash)
    const colon = host.indexOf(":")
    const port = colon >= 0 ? parseInt(host.slice(colon + 1)) : tls ? 443 : 80
    const deadline = ds.millis() + timeoutMs
    const socket = await connect({ host: colon >= 0 ? host.slice(0, colon) : host, port, proto: tls ? "tls" : "tcp", timeout: timeoutMs })
    try {
        const head =
            "POST " +
            (slash < 0 ? "/" : rest.slice(slash)) +
            " HTTP/1.1\r\nhost: " +
            host +
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
