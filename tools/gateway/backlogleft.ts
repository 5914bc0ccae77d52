/**
 * The backlog a device is left with after a sync. A device reports `?backlog=N` when it posts:
 * the blocks it holds before the round, this batch's included (src/lib/sync/syncround.ts). It
 * then forgets every block up to the ack it receives, so the N the request carried is already
 * stale when the reply leaves: the fleet showed "Backlog 1" for a device that held nothing
 * after its sync. The gateway knows the ack it signs, so it keeps what the ack leaves instead.
 *
 * The device's batch is its oldest held blocks in seq order (a pending loss skipped); the
 * blocks it holds beyond the batch follow the batch's last seq one by one.
 */
import { ByteReader, FormatError } from "../../src/lib/codec/bytes"
import { readHeader } from "../../src/lib/codec/format"

/** Each block's seq from its header; NaN for a block whose header does not read (never acknowledged). */
export function batchSeqs(blocks: Buffer[]): number[] {
    return blocks.map(bytes => {
        try {
            return readHeader(new ByteReader(bytes, "block")).seq
        } catch (e) {
            if (e instanceof FormatError) return NaN
            throw e
        }
    })
}

/** Of `reported` blocks held, of which the batch carried those at `seqs`, how many remain once the device takes `ack`. */
export function backlogAfterAck(reported: number, seqs: number[], ack: number): number {
    const inBatchLeft = seqs.filter(seq => !(seq <= ack)).length
    const beyond = Math.max(0, reported - seqs.length)
    const lastSeq = seqs.reduce((m, seq) => (seq > m ? seq : m), -1)
    const beyondTaken = Math.min(beyond, Math.max(0, ack - lastSeq))
    return Math.min(reported, inBatchLeft + beyond - beyondTaken)
}
