/**
 * Parsing the HTTP/1.1 reply a device receives from the gateway (src/uplink/httppost.ts reads it off
 * the socket). The device closes each connection, so a reply is a status line, headers and a
 * body that runs to Content-Length or to the close. Pure, shared with the Node tests.
 */
import { copyBytes, FormatError } from "../codec/bytes"

export interface HttpReply {
    status: number
    body: string
}

function indexOfBlankLine(data: Buffer): number {
    for (let i = 0; i + 3 < data.length; i++) if (data[i] === 13 && data[i + 1] === 10 && data[i + 2] === 13 && data[i + 3] === 10) return i
    return -1
}

/** The reply in `data`; a FormatError if it is not a complete HTTP/1.x reply. */
/** `text` without the spaces and tabs around it (HTTP's optional whitespace). */
function withoutSpaces(text: string): string {
    let from = 0
    let to = text.length
    while (from < to && (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9)) from++
    while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to--
    return text.slice(from, to)
}

export function parseHttpReply(data: Buffer): HttpReply {
    const end = indexOfBlankLine(data)
    if (end < 0) throw new FormatError("HTTP reply without the end of its headers")
    // Lines found with indexOf rather than split and trim: the runtime's split and trim are
    // about 400 bytes of function code the firmware's 64 KB budget needs (docs/DEVICESCRIPT.md).
    const head = copyBytes(data, 0, end).toString("utf-8") + "\r\n"
    let at = head.indexOf("\r\n")
    const statusLine = head.slice(0, at)
    if (!statusLine.startsWith("HTTP/1.")) throw new FormatError("not an HTTP reply: " + statusLine.slice(0, 40))
    const status = parseInt(statusLine.slice(9, 12))
    if (!(status >= 100 && status <= 599)) throw new FormatError("bad HTTP status line: " + statusLine.slice(0, 40))
    let length = -1
    while (at + 2 < head.length) {
        const next = head.indexOf("\r\n", at + 2)
        const line = head.slice(at + 2, next)
        at = next
        const colon = line.indexOf(":")
        if (colon < 0) continue
        const name = withoutSpaces(line.slice(0, colon)).toLowerCase()
        const value = withoutSpaces(line.slice(colon + 1))
        if (name === "content-length") length = parseInt(value)
        else if (name === "transfer-encoding" && value.toLowerCase() !== "identity")
            throw new FormatError("unsupported transfer encoding " + value)
    }
    const start = end + 4
    const available = data.length - start
    if (length >= 0 && available < length) throw new FormatError("HTTP reply body truncated: " + available + " of " + length + " bytes")
    const bodyLength = length >= 0 ? length : available
    return { status, body: copyBytes(data, start, bodyLength).toString("utf-8") }
}
