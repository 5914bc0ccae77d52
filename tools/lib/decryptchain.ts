/**
 * The data owner's side of encrypted readings (docs/FORMAT.md, "Encrypted readings"): every
 * reading of an exported chain, the encrypted blocks decrypted under D_seq (evolved from the
 * owner's D_0 once per seq, one AES call per block) and the plaintext blocks decoded as they are.
 */
import { FormatError } from "../../src/lib/codec/bytes"
import { ChannelSpec, RECORD_DATA, RECORD_GENESIS } from "../../src/lib/codec/format"
import { fromFixedPoint } from "../../src/lib/codec/fixedpoint"
import { decodeBlock } from "../../src/lib/ledger/chain"
import { decryptReadings, evolveDataKey } from "../../src/lib/ledger/datakey"
import { nodeAesCcm0 } from "./aes"
import { nodeCrypto } from "./crypto"

export interface DecryptedRow {
    seq: number
    boot: number
    uptimeMs: number
    unixTime?: number
    /** Physical values (x * 10^exponent), null where missing. */
    values: (number | null)[]
}

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
): { channels: ChannelSpec[]; rows: DecryptedRow[]; decryptedBlocks: number } {
    let channels: ChannelSpec[] = []
    const rows: DecryptedRow[] = []
    let key = dataKey0
    let keySeq = 0
    let decryptedBlocks = 0
    for (const bytes of blocks) {
        const block = decodeBlock(bytes)
        const h = block.header
        if (h.type === RECORD_GENESIS) channels = block.genesis!.channels
        if (h.type !== RECORD_DATA) continue
        let readings = block.readings
        if (!readings) {
            while (keySeq < h.seq) key = evolveDataKey(nodeCrypto, key, deviceId, keySeq++)
            try {
                readings = decryptReadings(nodeAesCcm0, key, deviceId, block)
            } catch (e) {
                if (!(e instanceof FormatError)) throw e
                throw new DecryptError(
                    "block seq " + h.seq + " does not decrypt under this data key (" + e.message + "): the wrong key file?"
                )
            }
            decryptedBlocks++
        }
        for (let i = 0; i < readings.length; i++) {
            const offset = i * h.intervalMs
            const row: DecryptedRow = {
                seq: h.seq,
                boot: h.time.boot,
                uptimeMs: h.time.uptimeMs + offset,
                values: readings[i].map((x, c) => (x === null ? null : fromFixedPoint(x, channels[c] ? channels[c].exponent : 0))),
            }
            if (h.time.unixTime !== undefined) row.unixTime = h.time.unixTime + offset / 1000
            rows.push(row)
        }
    }
    return { channels, rows, decryptedBlocks }
}
