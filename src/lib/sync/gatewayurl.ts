/**
 * Where a gateway is and where a device's blocks go on it: one rule for a gateway URL (the
 * firmware's FL_GATEWAY, `fieldledger provision --gateway/--device-gateway`, `fieldledger
 * bridge --gateway`, `fieldledger start`) and one builder for the sync path (the firmware's
 * sync loop, the bridge, the gateway's route). Regex-free: the firmware runs it too.
 *
 * A gateway URL is `http://` or `https://`, a host (with an optional `:port`), and an optional
 * path the gateway is mounted under; no spaces or control characters, no `?` or `#` (the sync
 * path and its query are appended to it). Trailing slashes are dropped before appending. The
 * port is not checked here: a bad one fails the first request, as an unreachable host does.
 */

/** Whether `text` is a gateway base URL by the rule above. */
export function isGatewayUrl(text: unknown): boolean {
    if (typeof text !== "string") return false
    const start = text.startsWith("http://") ? 7 : text.startsWith("https://") ? 8 : 0
    // A host must follow the scheme: not nothing, not a path, not a bare ":port".
    if (start === 0 || start === text.length || text.charCodeAt(start) === 47 || text.charCodeAt(start) === 58) return false
    for (let i = start; i < text.length; i++) {
        const c = text.charCodeAt(i)
        // Space and control characters, DEL, "?" and "#".
        if (c <= 32 || c === 127 || c === 63 || c === 35) return false
    }
    return true
}

/** The URL without its trailing slashes, ready for a path to be appended. */
export function gatewayBase(url: string): string {
    let end = url.length
    while (end > 0 && url.charCodeAt(end - 1) === 47) end--
    return end === url.length ? url : url.slice(0, end)
}

/** The gateway's path of one device (registration, detail): `/v1/devices/<id>`. */
export function devicePath(deviceIdHex: string): string {
    return "/v1/devices/" + deviceIdHex
}

/** The path a device posts its blocks to (and its block list): `/v1/devices/<id>/blocks`. */
export function syncPath(deviceIdHex: string): string {
    return devicePath(deviceIdHex) + "/blocks"
}

/** The URL of one sync post: the sync path on `gatewayUrl`, with the backlog the device holds. */
export function syncUrl(gatewayUrl: string, deviceIdHex: string, backlog: number): string {
    return gatewayBase(gatewayUrl) + syncPath(deviceIdHex) + "?backlog=" + backlog
}
