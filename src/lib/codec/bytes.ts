/**
 * Byte-level primitives shared by the firmware (DeviceScript) and the Node tools.
 *
 * Only the Buffer subset common to both runtimes is used: `Buffer.alloc`, indexing,
 * `length`, `set(src, offset)` and `slice`. `slice` copies on DeviceScript but is a view
 * on Node, so nothing here ever writes into a slice; it does not clamp out-of-range indices
 * on DeviceScript, so every slice here is of a range checked to lie within the buffer.
 * Arithmetic on values above 2^31 uses `*`, `/` and `Math.floor` rather than bit operators,
 * which are 32-bit in both runtimes. No getters: DeviceScript does not compile them.
 *
 * What things cost on the device (DeviceScript 2.16.4 in the simulator; ops counted with
 * test/harness/opcost-device.ts, time with test/harness/timing-device.ts): a simple bytecode
 * op takes about 0.012 us, and a fiber run may execute 131,071 of them (docs/DEVICESCRIPT.md, Runtime). An
 * allocation takes about 20 us whatever its size (the runtime's allocator rewrites the free
 * block it splits), and so does every call of a bytecode function, as its frame is allocated.
 * On DeviceScript `set` and `slice` are bytecode functions around the native `blitAt`. So a
 * long copy goes through `set` (a few ops, two or three allocations), and a copy or fill of
 * at most SHORT_BYTES (keys, links, tags) loops over its bytes (about 17 ops a byte).
 */

/** Up to this many bytes, copies and fills loop rather than call `set` (see above). */
export const SHORT_BYTES = 32

/** Largest integer a varint may carry: 2^53 - 1, the last exactly representable one. */
export const MAX_VARINT = 9007199254740991

/** Longest canonical varint: 53 bits need 8 groups of 7. */
export const MAX_VARINT_BYTES = 8

/** Malformed bytes: truncated, non-canonical or out of range. One error class for the codec layer. */
export class FormatError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "FormatError"
    }
}

/**
 * `a` modulo `b` for non-negative integers up to 2^53. DeviceScript's `%` wraps operands to
 * 32 bits (4294967295 % 128 gives -1 there), so shared code never applies `%` to a value that
 * may exceed 2^31; the golden vectors caught this.
 */
export function mod(a: number, b: number): number {
    return a - Math.floor(a / b) * b
}

/** Number of bytes the LEB128 encoding of `value` takes. */
export function varintLength(value: number): number {
    let n = 1
    while (value >= 128) {
        value = Math.floor(value / 128)
        n++
    }
    return n
}

/** Zigzag map of a signed integer onto an unsigned one: 0, -1, 1, -2 ... become 0, 1, 2, 3 ... */
export function zigzag(value: number): number {
    return value >= 0 ? value * 2 : -value * 2 - 1
}

export function unzigzag(value: number): number {
    return mod(value, 2) === 0 ? value / 2 : -(value + 1) / 2
}

function isUnsignedInteger(value: number, max: number): boolean {
    return typeof value === "number" && value >= 0 && value <= max && Math.floor(value) === value
}

/** Appends bytes to a buffer that grows as needed. */
export class ByteWriter {
    private buf: Buffer
    private used = 0

    constructor(capacity?: number) {
        this.buf = Buffer.alloc(capacity || 64)
    }

    size(): number {
        return this.used
    }

    private reserve(extra: number) {
        this.buf = withRoom(this.buf, this.used + extra)
    }

    u8(value: number): ByteWriter {
        // `(value & 255) === value` holds for the integers 0..255 and for nothing else (not for
        // -1, 256, 1.5, NaN or "1"): the whole range check in one operator, as u8 runs for
        // every header byte.
        if ((value & 255) !== value) throw new RangeError("u8 out of range: " + value)
        if (this.used === this.buf.length) this.reserve(1)
        this.buf[this.used++] = value
        return this
    }

    /** Two's complement signed byte, -128..127. */
    i8(value: number): ByteWriter {
        if (value < -128 || value > 127 || Math.floor(value) !== value) throw new RangeError("i8 out of range: " + value)
        return this.u8(value < 0 ? value + 256 : value)
    }

    /** Little-endian 32-bit unsigned integer. */
    u32(value: number): ByteWriter {
        if (!isUnsignedInteger(value, 4294967295)) throw new RangeError("u32 out of range: " + value)
        if (this.used + 4 > this.buf.length) this.reserve(4)
        const buf = this.buf
        let at = this.used
        for (let i = 0; i < 4; i++) {
            const high = Math.floor(value / 256)
            buf[at++] = value - high * 256
            value = high
        }
        this.used = at
        return this
    }

    /** Unsigned LEB128: 7 bits per byte, least significant group first, high bit = more follows. */
    varint(value: number): ByteWriter {
        // Most varints of a block are below 128 (seq early on, boot, counts): one check, one
        // byte, and no call (each call allocates a frame on the device).
        if ((value & 127) === value) {
            if (this.used === this.buf.length) this.reserve(1)
            this.buf[this.used++] = value
            return this
        }
        if (!isUnsignedInteger(value, MAX_VARINT)) throw new RangeError("varint out of range: " + value)
        if (this.used + MAX_VARINT_BYTES > this.buf.length) this.reserve(MAX_VARINT_BYTES)
        const buf = this.buf
        let at = this.used
        while (value >= 128) {
            // value mod 128 without `%`, which wraps to 32 bits on DeviceScript (see mod()).
            const high = Math.floor(value / 128)
            buf[at++] = value - high * 128 + 128
            value = high
        }
        buf[at++] = value
        this.used = at
        return this
    }

    bytes(data: Buffer): ByteWriter {
        if (this.used + data.length > this.buf.length) this.reserve(data.length)
        this.buf.set(data, this.used)
        this.used += data.length
        return this
    }

    /** A length-prefixed (u8) UTF-8 string. */
    shortString(text: string, maxBytes: number): ByteWriter {
        const data = Buffer.from(text)
        if (data.length > maxBytes) throw new RangeError("string longer than " + maxBytes + " bytes: " + text)
        return this.u8(data.length).bytes(data)
    }

    /** A copy of everything written so far. */
    finish(): Buffer {
        return copyBytes(this.buf, 0, this.used)
    }
}

/** Reads the encodings ByteWriter produces; every read checks bounds and canonical form. */
export class ByteReader {
    offset = 0

    constructor(
        readonly data: Buffer,
        readonly what: string
    ) {}

    remaining(): number {
        return this.data.length - this.offset
    }

    private need(n: number, field: string) {
        if (this.offset + n > this.data.length) throw new FormatError(this.what + " truncated: no room for " + field)
    }

    u8(field: string): number {
        this.need(1, field)
        return this.data[this.offset++]
    }

    i8(field: string): number {
        const v = this.u8(field)
        return v > 127 ? v - 256 : v
    }

    u32(field: string): number {
        this.need(4, field)
        let value = 0
        for (let i = 3; i >= 0; i--) value = value * 256 + this.data[this.offset + i]
        this.offset += 4
        return value
    }

    varint(field: string): number {
        let value = 0
        let scale = 1
        for (let i = 0; i < MAX_VARINT_BYTES; i++) {
            const b = this.u8(field)
            value += (b % 128) * scale
            if (b < 128) {
                if (b === 0 && i > 0) throw new FormatError(this.what + ": non-canonical varint in " + field)
                if (value > MAX_VARINT) throw new FormatError(this.what + ": varint too large in " + field)
                return value
            }
            scale *= 128
        }
        throw new FormatError(this.what + ": varint too long in " + field)
    }

    bytes(n: number, field: string): Buffer {
        this.need(n, field)
        const out = copyBytes(this.data, this.offset, n)
        this.offset += n
        return out
    }

    shortString(maxBytes: number, field: string): string {
        const n = this.u8(field)
        if (n > maxBytes) throw new FormatError(this.what + ": " + field + " longer than " + maxBytes + " bytes")
        const raw = this.bytes(n, field)
        const text = raw.toString()
        // Invalid UTF-8 decodes to U+FFFD, so two byte strings could read as one text:
        // only bytes that re-encode to themselves are accepted (one content, one encoding).
        const again = Buffer.from(text)
        if (again.length !== raw.length || !constantTimeEqual(again, raw))
            throw new FormatError(this.what + ": " + field + " is not valid UTF-8")
        return text
    }
}

/**
 * `buf` if it holds `needed` bytes, else a copy of it in a buffer at least twice as long (so
 * a writer that grows a byte at a time copies O(n) bytes in all).
 */
export function withRoom(buf: Buffer, needed: number): Buffer {
    if (needed <= buf.length) return buf
    let size = buf.length * 2
    if (size < needed) size = needed
    const next = Buffer.alloc(size)
    next.set(buf, 0)
    return next
}

/**
 * A fresh buffer holding `length` bytes of `source` from `start` (never a view). The range
 * must lie within `source`: anything else is a RangeError, as neither runtime's `slice`
 * would say so (Node clamps, DeviceScript reads past the end).
 */
export function copyBytes(source: Buffer, start: number, length: number): Buffer {
    if (!(start >= 0 && length >= 0 && start + length <= source.length) || Math.floor(start) !== start || Math.floor(length) !== length)
        throw new RangeError("copyBytes: " + length + " bytes at " + start + " outside a buffer of " + source.length)
    const out = Buffer.alloc(length)
    if (length <= SHORT_BYTES) for (let i = 0; i < length; i++) out[i] = source[start + i]
    // slice is a view on Node and a copy on DeviceScript; set copies it into a buffer of our own either way.
    else out.set(source.slice(start, start + length), 0)
    return out
}

/** Concatenation without `Buffer.concat`, whose signature differs between the runtimes. */
export function joinBytes(parts: Buffer[]): Buffer {
    let total = 0
    for (const p of parts) total += p.length
    const out = Buffer.alloc(total)
    let at = 0
    for (const p of parts) {
        out.set(p, at)
        at += p.length
    }
    return out
}

/**
 * Equality whose running time depends only on the lengths, never on where the first
 * difference is: MACs are compared with this so a forger learns nothing from timing.
 */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
    if (a.length !== b.length) return false
    let diff = 0
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
    return diff === 0
}

/** Overwrites key material in place so an old epoch key does not linger in RAM. */
export function wipe(buf: Buffer) {
    const n = buf.length
    if (n <= SHORT_BYTES) for (let i = 0; i < n; i++) buf[i] = 0
    // A copy of zeros: Node's fill and DeviceScript's fillAt are not common to both.
    else buf.set(Buffer.alloc(n), 0)
}

export function isAllZero(buf: Buffer): boolean {
    let acc = 0
    for (let i = 0; i < buf.length; i++) acc |= buf[i]
    return acc === 0
}

export function toHex(buf: Buffer): string {
    return buf.toString("hex")
}

const HEX_DIGITS = "0123456789abcdefABCDEF"

/** Strict hex decoding: even length, hex digits only (Node's decoder silently stops at junk). */
export function fromHex(text: string, what: string): Buffer {
    if (typeof text !== "string" || text.length % 2 !== 0) throw new FormatError(what + ": expected an even number of hex digits")
    for (let i = 0; i < text.length; i++)
        if (HEX_DIGITS.indexOf(text[i]) < 0) throw new FormatError(what + ": not a hex digit at position " + i)
    return Buffer.from(text, "hex")
}
