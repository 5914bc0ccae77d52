/**
 * Console lines per sealed block: what a developer watches, and what the host tools parse
 * (src/lib/log/parse.ts). The runtime truncates long console lines, so the hex of a block
 * goes out in parts of at most PART_BYTES bytes: `fl:block seq=S type=T bytes=B part=i/n hex=...`.
 */
import { copyBytes } from "../lib/codec/bytes"
import { RECORD_NAMES } from "../lib/codec/format"
import { SealedBlock } from "../lib/ledger/chain"
import { BLOCK_TYPE_NAMES, blockLine } from "../lib/log/lines"

const PART_BYTES = 64

export function printSealedBlock(block: SealedBlock) {
    const parts = Math.ceil(block.bytes.length / PART_BYTES)
    const type = RECORD_NAMES[block.type]
    for (let i = 0; i < parts; i++) {
        const start = i * PART_BYTES
        const length = Math.min(PART_BYTES, block.bytes.length - start)
        // copyBytes, not slice: DeviceScript's slice does not clamp at the end of the buffer.
        const hex = copyBytes(block.bytes, start, length).toString("hex")
        console.log(blockLine(block.seq, type, block.bytes.length, i + 1, parts, hex))
    }
}
