/**
 * The data owner's side of encrypted readings (docs/FORMAT.md, "Encrypted readings"): every
 * reading of an exported chain, the encrypted blocks decrypted under D_seq (evolved from the
 * owner's D_0 once per seq, one AES call per block) and the plaintext blocks decoded as they are.
 */
import { FormatError } from "../../src/lib/codec/bytes"
import { ChannelSpec, RECORD_DATA, RECORD_GENESIS } from "../../src/lib/codec/format"
import { decodeBlock } from "../../src/lib/ledger/chain"
import { decryptReadings } from "../../src/lib/ledger/datakey"
import { nodeAesCcm0 } from "./aes"
import { nodeCrypto } from "./crypto"
import { DataKeyChain } from "./datakeychain"
import { blockReadingRows, ReadingRow } from "./readingrows"

export class DecryptError extends Error {}

/**
 * The chain's readings in order. `blocks` must have passed verifyChain (the tags, checked over
 * the ciphertext, are what proves them authentic). Throws DecryptError when a block does not
 * decrypt to a canonical readings part (the wrong data key, almost surely).
 */
export function decryptChain(
    blocks: Buffer[],
    deviceId: Buffer,
    dataKey0: Buffer
): { channels: ChannelSpec[]; rows: ReadingRow[]; decryptedBlocks: number } {
    let channels: ChannelSpec[] = []
    const rows: ReadingRow[] = []
    const keys = new DataKeyChain(nodeCrypto, deviceId, dataKey0)
    let decryptedBlocks = 0
    for (const bytes of blocks) {
        const block = decodeBlock(bytes)
        const h = block.header
        if (h.type === RECORD_GENESIS) channels = block.genesis!.channels
        if (h.type !== RECORD_DATA) continue
        let readings = block.readings
        if (!readings) {
            try {
                readings = decryptReadings(nodeAesCcm0, keys.keyAt(h.seq), deviceId, block)
            } catch (e) {
                if (!(e instanceof FormatError)) throw e
                throw new DecryptError(
                    "block seq " + h.seq + " does not decrypt under this data key (" + e.message + "): the wrong key file?"
                )
            }
            decryptedBlocks++
        }
        for (const row of blockReadingRows(h, readings, channels)) rows.push(row)
    }
    return { channels, rows, decryptedBlocks }
}
