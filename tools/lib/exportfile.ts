/**
 * The export file (docs/FORMAT.md, "Export file"): one device's chain as JSON, blocks in seq
 * order from genesis, each as hex. Parsing is strict: a file that is not exactly this shape is
 * rejected with a message naming the field, before any block is looked at.
 */
import { DEVICE_ID_BYTES, LINK_BYTES, MAX_BLOCK_BYTES } from "../../src/lib/codec/format"
import { fromHex, toHex } from "../../src/lib/codec/bytes"
import { PUBLIC_KEY_BYTES } from "../../src/lib/ledger/signedcheckpoint"

export const EXPORT_FORMAT = "fieldledger-export"
export const EXPORT_VERSION = 1

export interface ChainExport {
    deviceId: Buffer
    blocks: Buffer[]
    /** Whoever wrote the file chose it: `verify` checks the chain against it, but trusts a head only from elsewhere. */
    head?: { seq: number; hash: Buffer }
    /**
     * The device's signing public keys by key index: [0] pk_0 as registered at provisioning,
     * then each key a verified signed checkpoint certified. Whoever wrote the file chose them:
     * `verify` uses [0] only when no --public-key is given, and says so.
     */
    publicKeys?: Buffer[]
}

export class ExportFileError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "ExportFileError"
    }
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v)
}

function hexField(value: unknown, what: string, bytes?: number): Buffer {
    if (typeof value !== "string") throw new ExportFileError(what + " must be a hex string")
    let buf: Buffer
    try {
        buf = fromHex(value, what)
    } catch (e) {
        throw new ExportFileError((e as Error).message)
    }
    if (bytes !== undefined && buf.length !== bytes) throw new ExportFileError(what + " must be " + bytes + " bytes")
    return buf
}

export function parseExport(text: string): ChainExport {
    let doc: unknown
    try {
        doc = JSON.parse(text)
    } catch (e) {
        throw new ExportFileError("not JSON: " + (e as Error).message)
    }
    if (!isObject(doc)) throw new ExportFileError("the export must be a JSON object")
    if (doc.format !== EXPORT_FORMAT) throw new ExportFileError('"format" must be "' + EXPORT_FORMAT + '"')
    if (doc.version !== EXPORT_VERSION) throw new ExportFileError('unsupported "version": ' + JSON.stringify(doc.version))
    const deviceId = hexField(doc.deviceId, "deviceId", DEVICE_ID_BYTES)
    if (!Array.isArray(doc.blocks)) throw new ExportFileError('"blocks" must be an array of hex strings')
    const blocks = doc.blocks.map((b, i) => {
        const block = hexField(b, "blocks[" + i + "]")
        if (block.length > MAX_BLOCK_BYTES)
            throw new ExportFileError("blocks[" + i + "] is " + block.length + " bytes, over " + MAX_BLOCK_BYTES)
        return block
    })
    const result: ChainExport = { deviceId, blocks }
    if (doc.head !== undefined) {
        if (!isObject(doc.head) || !Number.isSafeInteger(doc.head.seq) || (doc.head.seq as number) < 0)
            throw new ExportFileError('"head" must be {"seq": N, "hash": "<hex>"}')
        result.head = { seq: doc.head.seq as number, hash: hexField(doc.head.hash, "head.hash", LINK_BYTES) }
    }
    if (doc.publicKeys !== undefined) {
        if (!Array.isArray(doc.publicKeys) || doc.publicKeys.length === 0)
            throw new ExportFileError('"publicKeys" must be a non-empty array of 64-hex-digit keys')
        result.publicKeys = doc.publicKeys.map((k, i) => hexField(k, "publicKeys[" + i + "]", PUBLIC_KEY_BYTES))
    }
    return result
}

export function formatExport(chain: ChainExport): string {
    const doc: Record<string, unknown> = {
        format: EXPORT_FORMAT,
        version: EXPORT_VERSION,
        deviceId: toHex(chain.deviceId),
        blocks: chain.blocks.map(toHex),
    }
    if (chain.head) doc.head = { seq: chain.head.seq, hash: toHex(chain.head.hash) }
    if (chain.publicKeys) doc.publicKeys = chain.publicKeys.map(toHex)
    return JSON.stringify(doc, null, 1) + "\n"
}

/**
 * The export file in pieces, for a chain too long to hold in memory: `open`, then one
 * `block(hex, index)` per block in seq order, then `close(count)`. Joined, the pieces are
 * byte for byte what formatExport writes for the same chain (a test holds them to it).
 */
export function exportPieces(deviceId: Buffer, head?: { seq: number; hash: Buffer }, publicKeys?: Buffer[]) {
    const q = (s: string) => JSON.stringify(s)
    return {
        open:
            "{\n " +
            q("format") +
            ": " +
            q(EXPORT_FORMAT) +
            ",\n " +
            q("version") +
            ": " +
            EXPORT_VERSION +
            ",\n " +
            q("deviceId") +
            ": " +
            q(toHex(deviceId)) +
            ",\n " +
            q("blocks") +
            ": [",
        block: (block: Buffer, index: number) => (index === 0 ? "\n  " : ",\n  ") + q(toHex(block)),
        close: (count: number) =>
            (count > 0 ? "\n ]" : "]") +
            (head
                ? ",\n " + q("head") + ": {\n  " + q("seq") + ": " + head.seq + ",\n  " + q("hash") + ": " + q(toHex(head.hash)) + "\n }"
                : "") +
            (publicKeys ? ",\n " + q("publicKeys") + ": [" + publicKeys.map(k => "\n  " + q(toHex(k))).join(",") + "\n ]" : "") +
            "\n}\n",
    }
}
