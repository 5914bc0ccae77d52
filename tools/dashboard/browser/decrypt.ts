/**
 * The dashboard's in-browser decryption of end-to-end encrypted readings (docs/FORMAT.md,
 * "Encrypted readings"; docs/DASHBOARD.md, "Encrypted readings"). The data owner gives the
 * page D_0 (the key file `provision --encrypt` wrote); the page evolves it to each block's D_seq
 * (HMAC-SHA256 through @noble/hashes: tools/lib/datakeychain.ts), decrypts the block's readings part with WebCrypto
 * AES-CTR, and decodes it with the same decoder the firmware and the gateway use. The key stays
 * in the page's memory: nothing here sends it anywhere.
 *
 * Bundled for the browser by tools/dashboard/bundle.ts (esbuild, with the `buffer` package
 * standing in for Node's Buffer), served as /dashboard/decrypt.js. Node 20 has WebCrypto too, so
 * test/node/dashboard/decrypt.test.ts runs this module as it is against the golden vectors.
 */
import { FormatError } from "../../../src/lib/codec/bytes"
import { ChannelSpec, FLAG_ENCRYPTED, RECORD_DATA } from "../../../src/lib/codec/format"
import { parseKeyHex } from "../../../src/lib/codec/hexids"
import { decodeBlock } from "../../../src/lib/ledger/chain"
import { ctrInitialBlock, dataNonce, decodeDecryptedReadings, encryptedPartAt } from "../../../src/lib/ledger/datakey"
import { DataKeyChain } from "../../lib/datakeychain"
import { nobleHashes } from "../../lib/noblehashes"
import { physicalValues } from "../../lib/readingrows"

export { DataKeyChain } from "../../lib/datakeychain"

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
    return new DataKeyChain(nobleHashes, Buffer.from(deviceIdHex, "hex"), parseDataKey(keyFileText))
}

/**
 * D_0 from the text of the owner's key file: 64 hex digits as `provision --encrypt` writes them
 * (surrounding white space ignored), read by the tools' one key rule (parseKeyHex).
 */
export function parseDataKey(text: string): Buffer {
    try {
        return parseKeyHex(String(text).trim(), "a data key")
    } catch (e) {
        if (e instanceof FormatError) throw new DataKeyError(e.message)
        throw e
    }
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

/** One encrypted data block's readings: physical values (x * 10^exponent), null where missing. */
export interface DecryptedBlock {
    seq: number
    values: (number | null)[][]
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
    channels: ChannelSpec[],
    bytes: Buffer
): Promise<DecryptedBlock | null> {
    const block = decodeBlock(bytes)
    const h = block.header
    if (h.type !== RECORD_DATA || !(h.flags & FLAG_ENCRYPTED)) return null
    const at = encryptedPartAt(block)
    const part = await aesCtr(keys.keyAt(h.seq), ctrInitialBlock(dataNonce(keys.deviceId, h.seq)), block.content.slice(at))
    try {
        const readings = decodeDecryptedReadings(block, at, Buffer.from(part))
        return { seq: h.seq, values: readings.map(r => physicalValues(r, channels)) }
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
    channels: ChannelSpec[],
    blocks: { seq: number; bytes: string }[],
    progress?: (done: number, total: number) => void,
    aesCtr: AesCtrDecrypt = webCryptoAesCtr
): Promise<Map<number, (number | null)[][]>> {
    const out = new Map<number, (number | null)[][]>()
    let done = 0
    for (const b of blocks) {
        const decrypted = await decryptBlock(aesCtr, keys, channels, Buffer.from(b.bytes, "hex"))
        if (decrypted) out.set(decrypted.seq, decrypted.values)
        progress?.(++done, blocks.length)
    }
    return out
}
