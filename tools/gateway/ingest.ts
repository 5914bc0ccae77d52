/**
 * Ingest: what to do with a batch of blocks a device posted, given what the gateway holds.
 * Pure: the verifier state, a lookup of stored blocks and the epoch keys come in; decisions
 * (blocks to store, events to record, where and why it stopped) go out. The caller writes them
 * in one transaction, so a batch that fails part way stores its valid prefix and never a
 * partial block.
 *
 * Per block, in batch order:
 * - seq below the expected one: the same bytes as stored -> a duplicate (acknowledged again);
 *   other bytes with a valid tag under K_seq -> a fork (409, a security event: only a holder of
 *   K_seq can make it, so the epoch key leaked); an invalid tag -> a bad block (422, event).
 * - otherwise the shared ChainVerifier decides: tag under K_seq, link, seq continuity (a jump
 *   only with a gap record later in the same batch declaring it), time, channels, gap records.
 *   A jump without a record -> 409 with the expected seq, so the device resends from there.
 * - for a device with a registered signing key, each signed checkpoint along the certified
 *   keys (signedverify.ts): a bad signature or a wrong key index refuses the whole batch
 *   (422, a security event, nothing stored): only a holder of K_0 can make a block whose tag
 *   verifies, so a checkpoint that does not is a forgery by one, or a broken device.
 */
import { ByteReader, constantTimeEqual, FormatError } from "../../src/lib/codec/bytes"
import { decodeBlock, DecodedBlock } from "../../src/lib/ledger/chain"
import { FORMAT_V1, readHeader, RECORD_GAP } from "../../src/lib/codec/format"
import { blockTag, LedgerCrypto } from "../../src/lib/ledger/keys"
import { ChainHistory, ChainVerifier, copyVerifierState, coversJump, VerifierState } from "../../src/lib/ledger/verify"
import { checkSigned, SignatureCheck, SigningState } from "../../src/lib/ledger/signedverify"
import { gapIndexEntry } from "./gapindex"
import type { NewBlock, NewEvent } from "./store"

/**
 * The most seqs one batch may skip (declared dropped). 2^16 HMACs take about 0.2 s here; a
 * device dropping one block an hour needs 7 years offline to lose more in one piece.
 */
export const MAX_JUMP_PER_BATCH = 65536

export interface StoredBlockRef {
    bytes: Buffer
    hash: Buffer
}

export interface IngestContext {
    crypto: LedgerCrypto
    deviceId: Buffer
    /** The device's verifier state after its stored head (not modified). */
    state: VerifierState
    /** The stored block at seq, if any. */
    stored(seq: number): StoredBlockRef | undefined
    /**
     * K_seq, for a block at a seq already passed (duplicate or fork) or one a jump lands on:
     * cheap once `highestKeyNeeded`'s seq was prepared (service.ts), which the caller ensures.
     */
    epochKey(seq: number): Buffer
    /** The signed-checkpoint state after the stored head, for a device with a registered signing key (not modified). */
    signing?: SigningState
    /** Ed25519 verification (node:crypto); needed with `signing`. */
    verifySignature?: SignatureCheck
}

/** Why the batch stopped, with the HTTP status the gateway answers. */
export interface IngestStop {
    index: number
    seq?: number
    status: 409 | 422
    code: string
    message: string
    /** For a gap: the seq the device should resend from. */
    expected?: number
}

export interface IngestResult {
    /** Blocks to store, in seq order (the valid prefix). */
    store: NewBlock[]
    duplicates: number
    events: NewEvent[]
    /** The state after the stored blocks. */
    state: VerifierState
    /** The signed-checkpoint state after the stored blocks (with IngestContext.signing). */
    signing?: SigningState
    stop?: IngestStop
}

/** The verifier's failure codes as the gateway reports them. */
const FAILURES: Record<string, { status: 409 | 422; code: string; event?: string }> = {
    malformed: { status: 422, code: "malformed-block" },
    "no-genesis": { status: 422, code: "no-genesis" },
    "device-mismatch": { status: 422, code: "device-mismatch" },
    "unexpected-genesis": { status: 422, code: "unexpected-genesis" },
    "missing-blocks": { status: 409, code: "missing-blocks" },
    tag: { status: 422, code: "bad-tag", event: "bad-tag" },
    link: { status: 422, code: "bad-link", event: "bad-link" },
    time: { status: 422, code: "bad-time" },
    channels: { status: 422, code: "bad-channels" },
    gap: { status: 422, code: "bad-gap" },
    seq: { status: 422, code: "bad-seq" },
}

export function summarizeBlock(block: DecodedBlock, bytes: Buffer, hash: Buffer): NewBlock {
    const h = block.header
    const gap = h.type === RECORD_GAP ? block.gap : undefined
    return {
        seq: h.seq,
        type: h.type,
        boot: h.time.boot,
        uptimeMs: h.time.uptimeMs,
        unixTime: h.time.unixTime ?? null,
        readingCount: h.readingCount,
        lostReadings: gap ? gap.lostReadings : 0,
        lostBlocks: gap ? gap.lostBlocks : 0,
        hash,
        bytes,
        gap: gapIndexEntry(block),
    }
}

/**
 * The highest seq whose epoch key `ingestBatch` may ask `epochKey` for on these blocks, or -1:
 * a jump's landing seq (at most MAX_JUMP_PER_BATCH past the expected one: further is refused
 * first), or a seq already passed whose bytes differ from the stored block's. Reads only each
 * block's header, so the caller can derive that far ahead of the synchronous ingest.
 */
export function highestKeyNeeded(expectedSeq: number, blocks: Buffer[], storedSame: (seq: number, bytes: Buffer) => boolean): number {
    let next = expectedSeq
    let highest = -1
    for (const bytes of blocks) {
        let seq: number
        try {
            seq = readHeader(new ByteReader(bytes, "block")).seq
        } catch (e) {
            if (e instanceof FormatError) break
            throw e
        }
        if (seq === next) next++
        else if (seq > next) {
            // The first jump only: ingestBatch refuses a second one before deriving its key.
            if (seq - next <= MAX_JUMP_PER_BATCH) highest = Math.max(highest, seq)
            break
        } else if (seq >= expectedSeq || !storedSame(seq, bytes)) highest = Math.max(highest, seq)
    }
    return highest
}

/**
 * The seqs below `expectedSeq` whose stored blocks `ingestBatch` (and `highestKeyNeeded`) may
 * look up for these blocks: a re-sent or forked block's own seq and the one before it (its
 * link), and the last seq a gap record declares dropped. Blocks at or past `expectedSeq` are
 * looked up in the batch itself. The caller reads these before the (synchronous) ingest.
 */
export function storedSeqsNeeded(expectedSeq: number, blocks: Buffer[]): number[] {
    const seqs = new Set<number>()
    const below = (seq: number) => {
        if (seq >= 0 && seq < expectedSeq) seqs.add(seq)
    }
    for (const bytes of blocks) {
        let header
        try {
            header = readHeader(new ByteReader(bytes, "block"))
        } catch (e) {
            if (e instanceof FormatError) break
            throw e
        }
        below(header.seq)
        below(header.seq - 1)
        if (header.type === RECORD_GAP) {
            try {
                const gap = decodeBlock(bytes).gap
                if (gap && gap.lostBlocks > 0) below(gap.firstLostSeq + gap.lostBlocks - 1)
            } catch (e) {
                if (!(e instanceof FormatError)) throw e
            }
        }
    }
    return [...seqs]
}

/**
 * A lookup over blocks read ahead (storedSeqsNeeded): a seq below the head that was not read
 * ahead is a mistake in that list, and fails loudly rather than passing for "not stored".
 */
export function preparedLookup(
    expectedSeq: number,
    needed: readonly number[],
    found: Map<number, StoredBlockRef>
): (seq: number) => StoredBlockRef | undefined {
    const asked = new Set(needed)
    return seq => {
        const b = found.get(seq)
        if (b || seq >= expectedSeq || asked.has(seq)) return b
        throw new Error("ingest looked up stored block " + seq + ", which was not read ahead")
    }
}

export function ingestBatch(ctx: IngestContext, blocks: Buffer[]): IngestResult {
    const pending = new Map<number, StoredBlockRef>()
    const lookup = (seq: number) => pending.get(seq) ?? ctx.stored(seq)
    const history: ChainHistory = {
        hashAt: seq => lookup(seq)?.hash,
        add: () => {},
    }
    const verifier = new ChainVerifier(ctx.crypto, ctx.deviceId, copyVerifierState(ctx.state), history, seq => ctx.epochKey(seq))
    const result: IngestResult = { store: [], duplicates: 0, events: [], state: verifier.state() }
    if (ctx.signing) result.signing = ctx.signing
    // A seq jump is accepted on the strength of a gap record later in the batch, which is
    // verified only when the loop reaches it: until then the blocks from the jump on are
    // provisional. If the batch stops before the record verifies, they are not stored (else
    // a forged record could make the gateway ack, and the device forget, blocks nobody holds).
    let confirmed = { count: 0, state: result.state, signing: result.signing }
    let openJump: { expected: number; found: number } = undefined
    let jumped = false
    const stop = (s: IngestStop, event?: { kind: string; block: Buffer }) => {
        if (openJump) {
            result.store.length = confirmed.count
            result.state = confirmed.state
            result.signing = confirmed.signing
        }
        result.stop = s
        if (event) result.events.push({ kind: event.kind, seq: s.seq ?? null, message: s.message, block: event.block })
        return result
    }

    for (let i = 0; i < blocks.length; i++) {
        const bytes = blocks[i]
        let block: DecodedBlock
        try {
            block = decodeBlock(bytes)
        } catch (e) {
            if (!(e instanceof FormatError)) throw e
            return stop({
                index: i,
                status: 422,
                code: "malformed-block",
                message: "block " + i + " of the batch is malformed: " + e.message,
            })
        }
        const seq = block.header.seq
        const expected = result.state.expectedSeq
        const nothingYet = expected === 0 && result.state.link === undefined
        if (seq < expected) {
            const held = lookup(seq)
            if (held && held.bytes.equals(bytes)) {
                result.duplicates++
                continue
            }
            // A v2 tag binds the link, the hash of the block before (a genesis block's own link).
            const link = seq === 0 ? block.header.link : lookup(seq - 1)?.hash
            const tagOk =
                (!!link || block.header.version === FORMAT_V1) &&
                constantTimeEqual(blockTag(ctx.crypto, ctx.epochKey(seq), ctx.deviceId, block.content, link), block.tag)
            if (!tagOk)
                return stop(
                    {
                        index: i,
                        seq,
                        status: 422,
                        code: "bad-tag",
                        message: "block " + seq + " differs from the stored one and its tag does not verify under K_" + seq,
                    },
                    { kind: "bad-tag", block: bytes }
                )
            if (held)
                return stop(
                    {
                        index: i,
                        seq,
                        status: 409,
                        code: "fork",
                        message: "a different block " + seq + " with a valid tag: the chain forked, so epoch key K_" + seq + " has leaked",
                    },
                    { kind: "fork", block: bytes }
                )
            // A block the device declared dropped (and the chain skipped): authentic, already
            // accounted for by its gap record, so acknowledged like a duplicate, not stored.
            result.duplicates++
            continue
        }
        if (nothingYet && seq > 0)
            return stop({
                index: i,
                seq,
                status: 409,
                code: "missing-blocks",
                expected: 0,
                message: "the gateway holds no block of this device yet: send from the genesis block (seq 0)",
            })
        // Accepting a jump means deriving its epoch keys one HMAC a seq before any tag can be
        // checked: unbounded, one unauthenticated request could hold the gateway for hours.
        if (seq - expected > MAX_JUMP_PER_BATCH)
            return stop({
                index: i,
                seq,
                status: 422,
                code: "jump-too-large",
                message: "block " + seq + " jumps " + (seq - expected) + " seqs ahead; a batch may skip at most " + MAX_JUMP_PER_BATCH,
            })
        // A device's backlog has at most one hole (its pending loss is one range), so a batch
        // has at most one jump. A second one is refused, before its key is derived: were it
        // accepted on a record the loop never verifies, the first jump's genuine record would
        // confirm both, and the device would forget blocks nobody stored.
        if (seq > expected && jumped)
            return stop({
                index: i,
                seq,
                status: 422,
                code: "second-jump",
                message: "block " + seq + ": a second seq jump in one batch (a device's backlog has one declared loss at most)",
            })
        const check = verifier.nextDecoded(block, blocks, i)
        if (!check.ok) {
            const f = FAILURES[check.code] ?? { status: 422 as const, code: check.code }
            const s: IngestStop = { index: i, seq, status: f.status, code: f.code, message: "block " + seq + ": " + check.reason }
            if (f.code === "missing-blocks") {
                s.expected = expected
                s.message =
                    "blocks " +
                    expected +
                    ".." +
                    (seq - 1) +
                    " are missing and no gap record in this batch declares them: send from seq " +
                    expected
            }
            return stop(s, f.event ? { kind: f.event, block: bytes } : undefined)
        }
        if (result.signing) {
            const signed = checkSigned(
                ctx.verifySignature,
                ctx.deviceId,
                result.signing,
                block,
                check.link,
                check.skippedFrom !== undefined
            )
            if (!signed.ok) {
                // The whole batch is refused: nothing of it is stored.
                result.store.length = 0
                result.state = ctx.state
                result.signing = ctx.signing
                const bad = signed.code === "signature"
                result.stop = {
                    index: i,
                    seq,
                    status: 422,
                    code: bad ? "bad-signature" : "bad-key-index",
                    message: "block " + seq + ": " + signed.reason + "; the batch is refused",
                }
                result.events.push({ kind: bad ? "bad-signature" : "bad-key-index", seq, message: result.stop.message, block: bytes })
                return result
            }
            result.signing = signed.state
        }
        if (check.skippedFrom !== undefined) jumped = true
        pending.set(seq, { bytes, hash: check.hash })
        result.store.push(summarizeBlock(block, bytes, check.hash))
        result.state = verifier.state()
        if (check.skippedFrom !== undefined && !openJump) openJump = { expected: check.skippedFrom, found: seq }
        if (openJump && coversJump(check.block.gap, openJump.expected, openJump.found)) openJump = undefined
        if (!openJump) confirmed = { count: result.store.length, state: result.state, signing: result.signing }
    }
    return result
}
