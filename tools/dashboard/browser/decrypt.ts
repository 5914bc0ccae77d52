/**
 * The dashboard's in-browser decryption of end-to-end encrypted readings (docs/FORMAT.md,
 * "Encrypted readings"; docs/DASHBOARD.md, "Encrypted readings"). The data owner gives the
 * page D_0 (the key file `provision --encrypt` wrote); the page evolves it to each block's D_seq
 * (HMAC-SHA256 through @noble/hashes), decrypts the block's readings part with WebCrypto
 * AES-CTR, and decodes it with the same decoder the firmware and the gateway use. The key stays
 * in the page's memory: nothing here sends it anywhere.
 *
 * Bundled for the browser by tools/dashboard/bundle.ts (esbuild, with the `buffer` package
 * standing in for Node's Buffer), served as /dashboard/decrypt.js. Node 20 has WebCrypto too, so
 * test/node/dashboard/decrypt.test.ts runs this module as it is against the golden vectors.
 */
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { FormatError } from "../../../src/lib/codec/bytes"
import { FLAG_ENCRYPTED, KEY_BYTES, RECORD_DATA } from "../../../src/lib/codec/format"
import { fromFixedPoint } from "../../../src/lib/codec/fixedpoint"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { ctrInitialBlock, dataNonce, decryptReadings, evolveDataKey, readingsPartAt } from "../../../src/lib/ledger/datakey"
import type { LedgerCrypto } from "../../../src/lib/ledger/keys"

/** The page's download of what it decrypted: the gateway's CSV columns. */
export { readingsCsv } from "../../lib/readingscsv"

/** A bad key file or a block that does not decrypt: the message is for the person at the page. */
export class DataKeyError extends Error {
    constructor(message: string) {
        super(message)
        // The page tells it by name (the bundle is minified, its class names are not kept).
        this.name = "DataKeyError"
    }
}

/** A device's data keys from the text of its owner's key file: what the page keeps while it decrypts. */
export function dataKeyChain(deviceIdHex: string, keyFileText: string): DataKeyChain {
    return new DataKeyChain(Buffer.from(deviceIdHex, "hex"), parseDataKey(keyFileText))
}

/**
 * D_0 from the text of the owner's key file (64 hex digits, as `provision --encrypt` writes it;
 * surrounding white space ignored).
 */
export function parseDataKey(text: string): Buffer {
    const hex = String(text).trim()
    if (!/^[0-9a-fA-F]*$/.test(hex)) throw new DataKeyError("a data key file holds only hex digits (64 of them)")
    if (hex.length !== 2 * KEY_BYTES) throw new DataKeyError("a data key is " + 2 * KEY_BYTES + " hex digits; this holds " + hex.length)
    return Buffer.from(hex, "hex")
}

/** AES-256-CTR decryption from the counter block `counter` (asynchronous, as WebCrypto is). */
export type AesCtrDecrypt = (key: Uint8Array, counter: Uint8Array, data: Uint8Array) => Promise<Uint8Array>

/**
 * WebCrypto's AES-CTR, counting in the block's last 16 bits as CCM does with L = 2 (a readings
 * part is at most a few hundred bytes, so the counter never wraps anyway). Only a secure context
 * (https, or http on localhost) has `crypto.subtle`.
 */
export const webCryptoAesCtr: AesCtrDecrypt = async (key, counter, data) => {
    const subtle = globalThis.crypto?.subtle
    if (!subtle) throw new DataKeyError("this page has no WebCrypto: open the dashboard over https, or on localhost")
    // Copies: WebCrypto takes views of plain ArrayBuffers, and a Buffer may be a view of a shared pool.
    const aesKey = await subtle.importKey("raw", new Uint8Array(key), "AES-CTR", false, ["decrypt"])
    return new Uint8Array(
        await subtle.decrypt({ name: "AES-CTR", counter: new Uint8Array(counter), length: 16 }, aesKey, new Uint8Array(data))
    )
}

/** The ledger's HMAC for the data key schedule (sha256 is not used by evolveDataKey, but part of the interface). */
const nobleHashes: LedgerCrypto = {
    sha256: data => Buffer.from(sha256(data)),
    hmacSha256: (key, data) => Buffer.from(hmac(sha256, key, data)),
}

/** One encrypted data block's readings: physical values (x * 10^exponent), null where missing. */
export interface DecryptedBlock {
    seq: number
    values: (number | null)[][]
}

/**
 * One device's data keys from D_0: D_seq is reached by evolving forward, remembering the
 * newest key reached (blocks come in seq order), and starting again from D_0 to go back.
 */
export class DataKeyChain {
    private key: Buffer
    private keySeq = 0

    constructor(
        readonly deviceId: Buffer,
        private readonly key0: Buffer
    ) {
        this.key = key0
    }

    keyAt(seq: number): Buffer {
        if (seq < this.keySeq) {
            this.key = this.key0
            this.keySeq = 0
        }
        while (this.keySeq < seq) this.key = evolveDataKey(nobleHashes, this.key, this.deviceId, this.keySeq++)
        return this.key
    }
}

/**
 * Decrypts a stored block (its bytes as the gateway serves them) if it is an encrypted data
 * block, else returns null. The tag was checked by the gateway over the ciphertext at ingest;
 * what proves the key right here is that the result decodes strictly as a readings part, which
 * under a wrong key it almost never does (DataKeyError then).
 */
export async function decryptBlock(
    aesCtr: AesCtrDecrypt,
    keys: DataKeyChain,
    exponents: number[],
    bytes: Buffer
): Promise<DecryptedBlock | null> {
    const deviceId = keys.deviceId
    const block = decodeBlock(bytes)
    const h = block.header
    if (h.type !== RECORD_DATA || !(h.flags & FLAG_ENCRYPTED)) return null
    const key = keys.keyAt(h.seq)
    const at = readingsPartAt(block.content)
    const part = await aesCtr(key, ctrInitialBlock(dataNonce(deviceId, h.seq)), block.content.slice(at))
    try {
        // WebCrypto is asynchronous and decryptReadings' AES is not: the part decrypted above
        // goes in as the result of its one AES call (same key, nonce and range).
        const readings = decryptReadings(() => Buffer.from(part), key, deviceId, block)
        return { seq: h.seq, values: readings.map(r => r.map((x, c) => (x === null ? null : fromFixedPoint(x, exponents[c] ?? 0)))) }
    } catch (e) {
        if (!(e instanceof FormatError)) throw e
        throw new DataKeyError(
            "block seq " + h.seq + " does not decrypt under this data key (" + e.message + "): the key file of another device or chain?"
        )
    }
}

/**
 * The dashboard's entry: the decrypted values of every encrypted data block among `blocks`
 * (hex, as GET /v1/devices/:id/blocks?bytes=1 gives them), by seq. Yields to the page between
 * blocks of work so a long chain does not freeze it; `progress(done, total)` after each block.
 */
export async function decryptBlocks(
    keys: DataKeyChain,
    exponents: number[],
    blocks: { seq: number; bytes: string }[],
    progress?: (done: number, total: number) => void,
    aesCtr: AesCtrDecrypt = webCryptoAesCtr
): Promise<Map<number, (number | null)[][]>> {
    const out = new Map<number, (number | null)[][]>()
    let done = 0
    for (const b of blocks) {
        const decrypted = await decryptBlock(aesCtr, keys, exponents, Buffer.from(b.bytes, "hex"))
        if (decrypted) out.set(decrypted.seq, decrypted.values)
        progress?.(++done, blocks.length)
    }
    return out
}
