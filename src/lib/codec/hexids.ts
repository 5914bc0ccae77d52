/**
 * Device ids and keys as text, one rule each for the firmware, the tools and the gateway.
 * Regex-free, so the same functions run on the device.
 *
 * - A device id names things (URLs, database rows, pending-file entries), so it has one
 *   spelling: exactly DEVICE_ID_BYTES * 2 = 16 lower-case hex digits, as `toHex` prints it.
 * - A key (K_0, the gateway's master key) is read into bytes, so its spelling does not
 *   matter: either case is accepted on input; the tools print lower case (`toHex`).
 */
import { FormatError, fromHex } from "./bytes"
import { DEVICE_ID_BYTES, KEY_BYTES } from "./format"

/** What a device id looks like, for messages. */
export const DEVICE_ID_TEXT = DEVICE_ID_BYTES * 2 + " lower-case hex digits"
/** What a key looks like, for messages. */
export const KEY_TEXT = KEY_BYTES * 2 + " hex digits"

/** Whether `text` is a device id as written: 16 lower-case hex digits. */
export function isDeviceIdHex(text: unknown): boolean {
    if (typeof text !== "string" || text.length !== DEVICE_ID_BYTES * 2) return false
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i)
        if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
    }
    return true
}

/**
 * A key written as 64 hex digits of either case (nothing around them: a caller reading a file
 * trims it first). Throws FormatError saying what is wrong, never echoing the text (a key).
 */
export function parseKeyHex(text: unknown, what: string): Buffer {
    if (typeof text !== "string") throw new FormatError(what + " must be " + KEY_TEXT + " (" + KEY_BYTES + " bytes)")
    // Say what a key is before how hex works: 63 digits is a key cut short, not "an odd number".
    if (text.length !== KEY_BYTES * 2)
        throw new FormatError(what + " must be " + KEY_TEXT + " (" + KEY_BYTES + " bytes), got " + text.length)
    return fromHex(text, what)
}

/** Whether `text` is a key as parseKeyHex reads it. */
export function isKeyHex(text: unknown): boolean {
    try {
        parseKeyHex(text, "key")
        return true
    } catch (e) {
        return false
    }
}
