/**
 * Chain verification (FORMAT.md, "Verifying a chain"): every block decoded strictly, its seq
 * continuous or covered by an authenticated gap record, its link equal to the hash of its
 * predecessor, and its tag checked under its own epoch key K_seq, never a later or earlier one.
 * Pure, so the gateway, the CLI and the device tests run the same checks: `ChainVerifier` checks
 * one block at a time against a small state (the gateway keeps one per device between
 * requests), and `verifyChain` runs it over a whole list.
 */
import { constantTimeEqual, FormatError, isAllZero, toHex } from "../codec/bytes"
import {
    BlockHeader,
    BlockTime,
    ChannelSpec,
    FORMAT_V1,
    GapBody,
    GAP_POWER_LOSS,
    GAP_REASONS,
    RECORD_CHECKPOINT,
    RECORD_DATA,
    RECORD_GAP,
    RECORD_GENESIS,
} from "../codec/format"
import { decodeBlock, DecodedBlock } from "./chain"
import { blockHash, blockTag, evolveKey, LedgerCrypto } from "./keys"
import { checkSigned, initialSigningState, SignatureCheck, SigningState } from "./signedverify"

export interface VerifyOptions {
    deviceId: Buffer
    /** K_0. Without it, only format, seq and links are checked: nothing is authenticated. */
    key0?: Buffer
    /** A head known from elsewhere (the gateway's ack, an audit record): catches tail truncation. */
    expectedHead?: { seq: number; hash: Buffer }
    /**
     * pk_0, the public key registered at provisioning: with `verifySignature`, the signed
     * checkpoints are checked along the certified keys and the report says up to which seq the
     * chain is publicly verified (summary.signed). Needs no K_0.
     */
    publicKey0?: Buffer
    /** Ed25519 verification (node:crypto on the host), injected so that this module stays pure. */
    verifySignature?: SignatureCheck
}

/**
 * How a reader states a gap record's count: a power-loss record's is an upper bound
 * (docs/FORMAT.md, "Gap body"), so "up to N readings lost"; the others are exact.
 */
export function lostReadingsText(reason: string, lostReadings: number): string {
    const n = lostReadings + (lostReadings === 1 ? " reading" : " readings") + " lost"
    return reason === GAP_REASONS[GAP_POWER_LOSS] ? "up to " + n : n
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
    /** Present when the chain was checked against a public key (VerifyOptions.publicKey0). */
    signed?: SignedSummary
}

/** What public verification established (docs/FORMAT.md, "Verifying signed checkpoints"). */
export interface SignedSummary {
    /** Seq of the last signed checkpoint that verified: blocks up to it are publicly verified. Absent: none. */
    verifiedTo?: number
    /** Signed checkpoints verified. */
    checkpoints: number
    /** Signed checkpoints in the chain (verified or not). */
    checkpointsSeen: number
    /** The unsigned tail: blocks after verifiedTo (all blocks when none verified), as a seq range and a count. */
    unsignedFrom?: number
    unsignedTo?: number
    unsignedBlocks: number
    /** Why checking stopped before the end although no signature failed (a certifying checkpoint was dropped). */
    broken?: string
    /** The public key the next signed checkpoint must verify under (hex), while the key chain holds. */
    nextPublicKey?: string
}

export interface VerifyFailure {
    /**
     * Position of the offending block in the list (0-based). For a failure about a block the
     * list lacks, the position it would have: "empty" 0, "truncated" the list's length,
     * "head-mismatch" the position of the block at the head's seq, or where it would be.
     */
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

/**
 * Everything a verifier carries from one block to the next. Plain data: copy it to try a batch
 * and keep the copy only if the batch is stored.
 */
export interface VerifierState {
    /** Seq the next block must have (or jump from, with a gap record). 0: nothing accepted yet. */
    expectedSeq: number
    /** SHA-256 of the last accepted block (undefined before the genesis block). */
    link: Buffer
    /** K_expectedSeq, or undefined when verifying without K_0. */
    key: Buffer
    /** Channel count of the genesis layout (0 before it). */
    channelCount: number
    /** Time of the last accepted block's last reading (blockEndTime); its header time if it has none. */
    last: BlockTime
    /** Format version of the last accepted block (versions never go down along a chain); absent: none yet. */
    version?: number
    /** Last seq of the widest range of dropped blocks declared so far (absent: none). */
    declaredTo?: number
}

/**
 * The accepted blocks' hashes by seq. Every seq below the verifier's expected seq is either
 * held (a hash) or was skipped over as declared dropped (undefined).
 */
export interface ChainHistory {
    hashAt(seq: number): Buffer | undefined
    add(seq: number, hash: Buffer): void
}

/** A ChainHistory in memory; seqs arrive ascending, so lookups are a binary search. */
export class MemoryHistory implements ChainHistory {
    private readonly seqs: number[] = []
    private readonly hashes: Buffer[] = []

    hashAt(seq: number): Buffer | undefined {
        let lo = 0
        let hi = this.seqs.length - 1
        while (lo <= hi) {
            const mid = Math.floor((lo + hi) / 2)
            const s = this.seqs[mid]
            if (s === seq) return this.hashes[mid]
            if (s < seq) lo = mid + 1
            else hi = mid - 1
        }
        return undefined
    }

    add(seq: number, hash: Buffer) {
        this.seqs.push(seq)
        this.hashes.push(hash)
    }
}

/** The outcome of checking one block: accepted (with its hash), or why not. */
export interface BlockCheck {
    ok: boolean
    /** A failure code of FORMAT.md's table ("malformed", "tag", "link", ...). */
    code?: string
    reason?: string
    /** The decoded block (undefined when it did not decode). */
    block?: DecodedBlock
    /** SHA-256 of the block, when accepted. */
    hash?: Buffer
    /** Seqs skipped over as declared dropped before this block, when it jumped. */
    skippedFrom?: number
    skippedTo?: number
    /** The link the block was checked and hashed with (the hash of the block before, after a jump a gap record's lastLostHash). */
    link?: Buffer
}

function timeBefore(a: BlockTime, b: BlockTime): boolean {
    return b.boot < a.boot || (b.boot === a.boot && b.uptimeMs < a.uptimeMs)
}

/**
 * When a block's last reading was due: the header time plus (readingCount - 1) intervals
 * (unixTime too, when present); a block without readings, its header time. The next block
 * must not start before it (FORMAT.md, "Time order").
 */
export function blockEndTime(h: BlockHeader): BlockTime {
    if (h.readingCount <= 1) return h.time
    const span = (h.readingCount - 1) * h.intervalMs
    const end: BlockTime = { boot: h.time.boot, uptimeMs: h.time.uptimeMs + span }
    if (h.time.unixTime !== undefined) end.unixTime = h.time.unixTime + Math.floor(span / 1000)
    return end
}

/**
 * Does this gap record declare the jump from `expected` to `found`? Its range must end just
 * before `found` and start at `expected` or before it: a device may drop blocks a verifier
 * already holds (their ack was lost), and declares its whole pending range each time.
 */
export function coversJump(gap: GapBody, expected: number, found: number): boolean {
    return !!gap && gap.lostBlocks > 0 && gap.firstLostSeq <= expected && gap.firstLostSeq + gap.lostBlocks === found
}

/** Finds, in `blocks` from index `from` on, a gap record that covers the jump (see coversJump). */
export function findCoveringGap(blocks: Buffer[], from: number, expected: number, found: number): GapBody {
    for (let i = from; i < blocks.length; i++) {
        let decoded: DecodedBlock
        try {
            decoded = decodeBlock(blocks[i])
        } catch (e) {
            continue
        }
        if (coversJump(decoded.gap, expected, found)) return decoded.gap
    }
    return undefined
}

/** The state before any block: expecting the genesis block under K_0. */
export function initialVerifierState(key0?: Buffer): VerifierState {
    return { expectedSeq: 0, link: undefined, key: key0, channelCount: 0, last: undefined }
}

export function copyVerifierState(s: VerifierState): VerifierState {
    const out: VerifierState = { expectedSeq: s.expectedSeq, link: s.link, key: s.key, channelCount: s.channelCount, last: s.last }
    if (s.version !== undefined) out.version = s.version
    if (s.declaredTo !== undefined) out.declaredTo = s.declaredTo
    return out
}

/**
 * Checks blocks one at a time, in chain order, each against what came before (FORMAT.md,
 * "Verifying a chain", steps 1-8). The caller keeps the history of accepted hashes; the
 * verifier keeps the rest.
 */
export class ChainVerifier {
    private s: VerifierState

    constructor(
        private readonly crypto: LedgerCrypto,
        private readonly deviceId: Buffer,
        state: VerifierState,
        private readonly history: ChainHistory,
        /**
         * K_seq for a seq a declared jump lands on (the gateway's epoch key cache, a few HMACs
         * away). Without it the key is evolved one seq at a time from the expected one.
         */
        private readonly jumpKey?: (seq: number) => Buffer
    ) {
        this.s = copyVerifierState(state)
    }

    /** A copy of the current state. */
    state(): VerifierState {
        return copyVerifierState(this.s)
    }

    /**
     * Checks `blocks[index]` as the next block and accepts it on success (state and history
     * advance); on failure nothing changes. A seq jump is accepted only when the block itself
     * or one after it in `blocks` is a gap record that declares the skipped range.
     */
    next(blocks: Buffer[], index: number): BlockCheck {
        let block: DecodedBlock
        try {
            block = decodeBlock(blocks[index])
        } catch (e) {
            if (e instanceof FormatError) return { ok: false, code: "malformed", reason: (e as FormatError).message }
            throw e
        }
        return this.nextDecoded(block, blocks, index)
    }

    /** As `next`, for a block already decoded from `blocks[index]`. */
    nextDecoded(block: DecodedBlock, blocks: Buffer[], index: number): BlockCheck {
        const s = this.s
        const h = block.header
        const fail = (code: string, reason: string): BlockCheck => ({ ok: false, code, reason, block })
        const first = s.expectedSeq === 0 && s.link === undefined
        if (first) {
            if (h.type !== RECORD_GENESIS || h.seq !== 0) return fail("no-genesis", "the first block must be the genesis block (seq 0)")
            if (!constantTimeEqual(block.genesis.deviceId, this.deviceId))
                return fail("device-mismatch", "genesis names device " + toHex(block.genesis.deviceId))
        } else if (h.type === RECORD_GENESIS) return fail("unexpected-genesis", "a genesis block after the start of the chain")
        if (s.version !== undefined && h.version < s.version)
            return fail("version", "a v" + h.version + " block after a v" + s.version + " block (a chain's version never goes back)")

        let key = s.key
        let link = s.link
        let skippedFrom = -1
        if (h.seq !== s.expectedSeq) {
            if (h.seq < s.expectedSeq) return fail("seq", "seq " + h.seq + " again or out of order, expected " + s.expectedSeq)
            const gap = coversJump(block.gap, s.expectedSeq, h.seq) ? block.gap : findCoveringGap(blocks, index + 1, s.expectedSeq, h.seq)
            if (!gap)
                return fail(
                    "missing-blocks",
                    "blocks " + s.expectedSeq + ".." + (h.seq - 1) + " are missing and no gap record accounts for them"
                )
            link = gap.lastLostHash
            if (key && this.jumpKey) key = this.jumpKey(h.seq)
            else for (let n = s.expectedSeq; n < h.seq; n++) if (key) key = evolveKey(this.crypto, key, this.deviceId, n)
            skippedFrom = s.expectedSeq
        }
        // The link this block must have: a genesis block's own (checked by no one before it),
        // else the previous block's hash. v2 does not store it: the tag binds it instead.
        if (first) link = h.link
        const v1 = h.version === FORMAT_V1
        if (key && !constantTimeEqual(blockTag(this.crypto, key, this.deviceId, block.content, link), block.tag))
            return fail("tag", "tag does not verify under epoch key K_" + h.seq + (v1 ? "" : " with the previous block's hash as link"))
        if (!first && v1 && !constantTimeEqual(h.link, link)) return fail("link", "link does not match the hash of block " + (h.seq - 1))
        if (s.last && timeBefore(s.last, h.time))
            return fail(
                "time",
                "time goes backwards (boot " +
                    h.time.boot +
                    ", uptime " +
                    h.time.uptimeMs +
                    " ms) before the last reading of the block before"
            )

        let channelCount = s.channelCount
        let declaredTo = s.declaredTo
        if (h.type === RECORD_GENESIS) channelCount = block.genesis.channels.length
        else if (h.type === RECORD_DATA) {
            if (block.readings[0].length !== channelCount)
                return fail("channels", "data block has " + block.readings[0].length + " channels, genesis declares " + channelCount)
        } else if (h.type === RECORD_GAP) {
            const g = block.gap
            if (g.lostBlocks > 0) {
                const lastLost = g.firstLostSeq + g.lostBlocks - 1
                if (lastLost >= h.seq) return fail("gap", "gap record declares blocks up to " + lastLost + " dropped, at or after itself")
                // A device re-declares its pending loss only to widen it: a range that ends no
                // later than one declared before is that loss counted again.
                if (declaredTo !== undefined && lastLost <= declaredTo)
                    return fail(
                        "gap",
                        "gap record declares blocks up to " +
                            lastLost +
                            " dropped, which an earlier record already declared (up to " +
                            declaredTo +
                            ")"
                    )
                declaredTo = lastLost
                // Below this block every seq is held or was skipped over. A skipped last seq: the
                // record covers that jump, or is an earlier record whose range a later, wider drop
                // declared again (docs/STORAGE.md). A held one: the device dropped blocks the
                // verifier already holds (their ack was lost), and the last must be the one named.
                const skippedNow = skippedFrom >= 0 && lastLost >= skippedFrom
                const held = skippedNow ? undefined : this.history.hashAt(lastLost)
                if (held && !constantTimeEqual(held, g.lastLostHash))
                    return fail(
                        "gap",
                        "gap record declares blocks " +
                            g.firstLostSeq +
                            ".." +
                            lastLost +
                            " dropped, but the chain holds a different block " +
                            lastLost
                    )
            }
        }

        const hash = blockHash(this.crypto, link, blocks[index])
        this.history.add(h.seq, hash)
        s.expectedSeq = h.seq + 1
        s.link = hash
        s.key = key ? evolveKey(this.crypto, key, this.deviceId, h.seq) : undefined
        s.channelCount = channelCount
        s.last = blockEndTime(h)
        s.version = h.version
        if (declaredTo !== undefined) s.declaredTo = declaredTo
        const result: BlockCheck = { ok: true, block, hash, link }
        if (skippedFrom >= 0) {
            result.skippedFrom = skippedFrom
            result.skippedTo = h.seq - 1
        }
        return result
    }
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
    if (blocks.length === 0) return fail(0, undefined, "empty", "the chain has no blocks (index 0: where the genesis block should be)")

    const history = new MemoryHistory()
    const verifier = new ChainVerifier(crypto, options.deviceId, initialVerifierState(options.key0), history)
    const signing = options.publicKey0 && options.verifySignature ? new SignedTally(options.publicKey0) : undefined
    if (signing) summary.signed = signing.summary
    /** The seq of each block of the list, by index. */
    const seqs: number[] = []
    for (let i = 0; i < blocks.length; i++) {
        const check = verifier.next(blocks, i)
        if (!check.ok) return fail(i, check.block ? check.block.header.seq : undefined, check.code, check.reason)
        const block = check.block
        const h = block.header
        if (signing) {
            const signed = checkSigned(
                options.verifySignature,
                options.deviceId,
                signing.state,
                block,
                check.link,
                check.skippedFrom !== undefined
            )
            signing.add(h.seq, h.type === RECORD_CHECKPOINT, signed.ok ? signed.state : undefined)
            if (!signed.ok) return fail(i, h.seq, signed.code, signed.reason)
        }
        seqs.push(h.seq)
        if (h.type === RECORD_GENESIS) {
            const g = block.genesis
            summary.firmware = g.firmware
            summary.board = g.board
            summary.channels = g.channels
            if (!isAllZero(h.link)) summary.previousChainHead = toHex(h.link)
        } else if (h.type === RECORD_DATA) {
            summary.dataBlocks++
            summary.readings += block.readings.length
            for (const r of block.readings) for (const v of r) if (v === null) summary.missingValues++
        } else if (h.type === RECORD_GAP) {
            const g = block.gap
            summary.gaps.push({
                seq: h.seq,
                reason: GAP_REASONS[g.reason],
                lostReadings: g.lostReadings,
                lostBlocks: g.lostBlocks,
                firstLostSeq: g.firstLostSeq,
            })
        }
        if (!summary.first) summary.first = h.time
        summary.last = h.time
        summary.blocks++
        summary.head = { seq: h.seq, hash: toHex(check.hash) }
    }

    const expected = options.expectedHead
    if (expected) {
        // Both failures are about the block at the head's seq: `index` is where it is or would be.
        if (summary.head.seq < expected.seq)
            return fail(
                blocks.length,
                expected.seq,
                "truncated",
                "chain ends at seq " + summary.head.seq + " but the known head is seq " + expected.seq
            )
        const atSeq = history.hashAt(expected.seq)
        if (!atSeq || !constantTimeEqual(atSeq, expected.hash)) {
            let at = 0
            while (at < seqs.length && seqs[at] < expected.seq) at++
            return fail(
                at,
                expected.seq,
                "head-mismatch",
                "the block at the known head's seq " + expected.seq + " is absent or has a different hash (fork)"
            )
        }
    }
    return { ok: true, summary }
}

/** The signed summary of verifyChain, kept up to date block by block (so a failure still reports what was verified before it). */
class SignedTally {
    state: SigningState
    readonly summary: SignedSummary = { checkpoints: 0, checkpointsSeen: 0, unsignedBlocks: 0 }

    constructor(publicKey0: Buffer) {
        this.state = initialSigningState(publicKey0)
        this.summary.nextPublicKey = toHex(publicKey0)
    }

    /** One accepted block; `next` is the signing state after it, undefined when its check failed. */
    add(seq: number, isCheckpoint: boolean, next: SigningState | undefined) {
        const s = this.summary
        if (isCheckpoint) s.checkpointsSeen++
        if (!next) return
        if (next.signedSeq !== this.state.signedSeq) {
            s.checkpoints++
            s.verifiedTo = next.signedSeq
            s.unsignedBlocks = 0
            delete s.unsignedFrom
            delete s.unsignedTo
        } else {
            if (s.unsignedBlocks === 0) s.unsignedFrom = seq
            s.unsignedTo = seq
            s.unsignedBlocks++
        }
        if (next.broken !== undefined) s.broken = next.broken
        if (next.publicKey) s.nextPublicKey = toHex(next.publicKey)
        else delete s.nextPublicKey
        this.state = next
    }
}
