/**
 * Console lines per sealed block: what a developer watches, and what the host tools parse
 * (tools/lib/devicelog.ts). The runtime truncates long console lines, so the hex of a block
 * goes out in parts of at most PART_BYTES bytes: `fl:block seq=S type=T bytes=B part=i/n hex=...`.
 */
import { copyBytes } from "../lib/codec/bytes"
import { RECORD_NAMES } from "../lib/codec/format"
import { SealedBlock } from "../lib/ledger/chain"

const PART_BYTES = 64

export function printSealedBlock(block: SealedBlock) {
    const parts = Math.ceil(block.bytes.length / PART_BYTES)
    const prefix = "fl:block seq=" + block.seq + " type=" + RECORD_NAMES[block.type] + " bytes=" + block.bytes.length
    for (let i = 0; i < parts; i++) {
        const start = i * PART_BYTES
        const length = Math.min(PART_BYTES, block.bytes.length - start)
        // copyBytes, not slice: DeviceScript's slice does not clamp at the end of the buffer.
        const hex = copyBytes(block.bytes, start, length).toString("hex")
        console.log(prefix + " part=" + (i + 1) + "/" + parts + " hex=" + hex)
    }
}
