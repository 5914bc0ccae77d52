/**
 * Chain verification (FORMAT.md, "Verifying a chain"): every block decoded strictly, its seq
 * continuous or covered by an authenticated gap record, its link equal to the hash of its
 * predecessor, and its tag checked under its own epoch key K_seq, never a later or earlier one.
 * Pure, so the gateway, the CLI and the device tests run the same checks.
 */
import { constantTimeEqual, FormatError, isAllZero, toHex } from "./bytes"
import { BlockTime, ChannelSpec, GapBody, GAP_REASONS, RECORD_DATA, RECORD_GAP, RECORD_GENESIS } from "./format"
import { decodeBlock, DecodedBlock } from "./chain"
import { blockTag, evolveKey, LedgerCrypto } from "./keys"

export interface VerifyOptions {
    deviceId: Buffer
    /** K_0. Without it, only format, seq and links are checked: nothing is authenticated. */
    key0?: Buffer
    /** A head known from elsewhere (the gateway's ack, an audit record): catches tail truncation. */
    expectedHead?: { seq: number; hash: Buffer }
}

export interface GapSummary {
    seq: number
    reason: string
    lostReadings: number
    lostBlocks: number
    firstLostSeq: number
}

export interface ChainSummary {
    deviceId: string
    authenticated: boolean
    blocks: number
    dataBlocks: number
    readings: number
    missingValues: number
    firmware?: string
    board?: string
    channels?: ChannelSpec[]
    /** Non-zero link of the genesis block: the head of the chain this one succeeds. */
    previousChainHead?: string
    first?: BlockTime
    last?: BlockTime
    gaps: GapSummary[]
    head?: { seq: number; hash: string }
}

export interface VerifyFailure {
    /** Position of the offending block in the list (0-based). */
    index: number
    seq?: number
    code: string
    reason: string
}

export interface VerifyReport {
    ok: boolean
    summary: ChainSummary
    failure?: VerifyFailure
}

function timeBefore(a: BlockTime, b: BlockTime): boolean {
    return b.boot < a.boot || (b.boot === a.boot && b.uptimeMs < a.uptimeMs)
}

/** Finds, after `from`, a gap record that declares exactly seq `expected`..`found - 1` dropped. */
function findCoveringGap(blocks: Buffer[], from: number, expected: number, found: number): GapBody {
    for (let i = from; i < blocks.length; i++) {
        let decoded: DecodedBlock
        try {
            decoded = decodeBlock(blocks[i])
        } catch (e) {
            continue
        }
        const gap = decoded.gap
        if (gap && gap.lostBlocks > 0 && gap.firstLostSeq === expected && gap.firstLostSeq + gap.lostBlocks === found)
            return gap
    }
    return undefined
}

export function verifyChain(crypto: LedgerCrypto, blocks: Buffer[], options: VerifyOptions): VerifyReport {
    const summary: ChainSummary = {
        deviceId: toHex(options.deviceId),
        authenticated: !!options.key0,
        blocks: 0,
        dataBlocks: 0,
        readings: 0,
        missingValues: 0,
        gaps: [],
    }
    const fail = (index: number, seq: number, code: string, reason: string): VerifyReport => ({
        ok: false,
        summary,
        failure: { index, seq, code, reason },
    })
    if (blocks.length === 0) return fail(0, undefined, "empty", "the chain has no blocks")

    let key = options.key0
    let expectedSeq = 0
    let link: Buffer = undefined
    let channelCount = 0
    let last: BlockTime = undefined
    // Seq ranges the chain jumps over, each declared by a later gap record.
    const skippedFrom: number[] = []
    const skippedTo: number[] = []
    // Seqs and hashes of the blocks seen, for gap records that declare present blocks dropped.
    const seenSeqs: number[] = []
    const seenHashes: Buffer[] = []
    const expected = options.expectedHead
    let hashAtExpectedSeq: Buffer = undefined

    for (let i = 0; i < blocks.length; i++) {
        let block: DecodedBlock
        try {
            block = decodeBlock(blocks[i])
        } catch (e) {
            if (e instanceof FormatError) return fail(i, undefined, "malformed", (e as FormatError).message)
            throw e
        }
        const h = block.header
        if (i === 0) {
            if (h.type !== RECORD_GENESIS || h.seq !== 0)
                return fail(i, h.seq, "no-genesis", "the first block must be the genesis block (seq 0)")
            if (!constantTimeEqual(block.genesis.deviceId, options.deviceId))
                return fail(i, 0, "device-mismatch", "genesis names device " + toHex(block.genesis.deviceId))
        } else if (h.type === RECORD_GENESIS)
            return fail(i, h.seq, "unexpected-genesis", "a genesis block after the start of the chain")
        if (h.seq !== expectedSeq) {
            if (h.seq < expectedSeq)
                return fail(i, h.seq, "seq", "seq " + h.seq + " again or out of order, expected " + expectedSeq)
            const gap = findCoveringGap(blocks, i, expectedSeq, h.seq)
            if (!gap)
                return fail(i, h.seq, "missing-blocks", "blocks " + expectedSeq + ".." + (h.seq - 1) + " are missing and no gap record accounts for them")
            link = gap.lastLostHash
            for (let s = expectedSeq; s < h.seq; s++) if (key) key = evolveKey(crypto, key, options.deviceId, s)
            skippedFrom.push(expectedSeq)
            skippedTo.push(h.seq - 1)
            expectedSeq = h.seq
        }
        if (key && !constantTimeEqual(blockTag(crypto, key, options.deviceId, block.content), block.tag))
            return fail(i, h.seq, "tag", "tag does not verify under epoch key K_" + h.seq)
        if (i > 0 && !constantTimeEqual(h.link, link))
            return fail(i, h.seq, "link", "link does not match the hash of block " + (h.seq - 1))
        if (last && timeBefore(last, h.time))
            return fail(i, h.seq, "time", "time goes backwards (boot " + h.time.boot + ", uptime " + h.time.uptimeMs + " ms)")

        if (h.type === RECORD_GENESIS) {
            const g = block.genesis
            channelCount = g.channels.length
            summary.firmware = g.firmware
            summary.board = g.board
            summary.channels = g.channels
            if (!isAllZero(h.link)) summary.previousChainHead = toHex(h.link)
        } else if (h.type === RECORD_DATA) {
            if (block.readings[0].length !== channelCount)
                return fail(i, h.seq, "channels", "data block has " + block.readings[0].length + " channels, genesis declares " + channelCount)
            summary.dataBlocks++
            summary.readings += block.readings.length
            for (const r of block.readings) for (const v of r) if (v === null) summary.missingValues++
        } else if (h.type === RECORD_GAP) {
            const g = block.gap
            if (g.lostBlocks > 0) {
                const lastLost = g.firstLostSeq + g.lostBlocks - 1
                if (lastLost >= h.seq)
                    return fail(i, h.seq, "gap", "gap record declares blocks up to " + lastLost + " dropped, at or after itself")
                // A declared range lies within a skipped one: the record that covers the jump,
                // or an earlier record whose range a later drop extended (docs/STORAGE.md).
                let skippedOver = false
                for (let k = 0; k < skippedFrom.length; k++)
                    if (skippedFrom[k] <= g.firstLostSeq && lastLost <= skippedTo[k]) skippedOver = true
                if (!skippedOver) {
                    // The device may drop blocks a gateway already holds (the ack was lost):
                    // then the "dropped" blocks are present, and the last one must be the one
                    // the gap record names.
                    const present = seenSeqs.indexOf(lastLost)
                    if (present < 0 || !constantTimeEqual(seenHashes[present], g.lastLostHash))
                        return fail(i, h.seq, "gap", "gap record declares blocks " + g.firstLostSeq + ".." + lastLost + " dropped, but the chain neither skips them nor holds them")
                }
            }
            summary.gaps.push({
                seq: h.seq,
                reason: GAP_REASONS[g.reason],
                lostReadings: g.lostReadings,
                lostBlocks: g.lostBlocks,
                firstLostSeq: g.firstLostSeq,
            })
        }

        const hash = crypto.sha256(blocks[i])
        if (expected && h.seq === expected.seq) hashAtExpectedSeq = hash
        seenSeqs.push(h.seq)
        seenHashes.push(hash)
        if (!summary.first) summary.first = h.time
        summary.last = h.time
        summary.blocks++
        summary.head = { seq: h.seq, hash: toHex(hash) }
        last = h.time
        link = hash
        if (key) key = evolveKey(crypto, key, options.deviceId, h.seq)
        expectedSeq = h.seq + 1
    }

    if (expected) {
        const lastIndex = blocks.length - 1
        if (summary.head.seq < expected.seq)
            return fail(lastIndex, summary.head.seq, "truncated", "chain ends at seq " + summary.head.seq + " but the known head is seq " + expected.seq)
        if (!hashAtExpectedSeq || !constantTimeEqual(hashAtExpectedSeq, expected.hash))
            return fail(lastIndex, summary.head.seq, "head-mismatch", "the block at the known head's seq " + expected.seq + " is absent or has a different hash (fork)")
    }
    return { ok: true, summary }
}
