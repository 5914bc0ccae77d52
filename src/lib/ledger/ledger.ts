/**
 * The ledger: takes readings, keeps the open block, seals it when the next reading would not
 * fit, when it holds the most readings allowed, or when it is older than the time limit.
 * Pure (time comes in as arguments), so the firmware and the Node load generator share it.
 */
import { wipe } from "../codec/bytes"
import { BlockContent, ChainHead, DecodedBlock, encodeContent, sealBlock, sealEncoded, SealedBlock } from "./chain"
import {
    BlockTime,
    ChannelSpec,
    checkChannels,
    FORMAT_V1,
    FORMAT_VERSION,
    GapBody,
    headerSize,
    LINK_BYTES,
    MAX_BLOCK_BYTES,
    MAX_READINGS_PER_BLOCK,
    RECORD_CHECKPOINT,
    RECORD_DATA,
    RECORD_GAP,
    RECORD_GENESIS,
    TAG_BYTES,
} from "../codec/format"
import { LedgerCrypto } from "./keys"
import { checkReading, Reading, ReadingsBuilder } from "../codec/readings"
import { SignedCheckpoint } from "./signedcheckpoint"
import { varintLength } from "../codec/bytes"

export interface LedgerOptions {
    /** Nominal time between readings; reading i of a block was taken at first + i * intervalMs. */
    intervalMs: number
    /** Seal before a block would exceed this many bytes (at most MAX_BLOCK_BYTES). */
    maxBlockBytes?: number
    /** Seal when a block holds this many readings (at most MAX_READINGS_PER_BLOCK). */
    maxReadingsPerBlock?: number
    /** Seal a block once its first reading is this old, so data is never held back for long. */
    maxBlockAgeMs?: number
    /**
     * Seal when a block holds this many values (readings x channels, missing ones included).
     * The device sets it (src/device/config.ts) so that sealing, committing and restoring a block
     * stays within one fiber run's op budget; the format allows 255 x 8.
     */
    maxValuesPerBlock?: number
    /** Block format to seal: FORMAT_VERSION (v2) unless 1 (the v1 golden vectors and tests that check v1 still seals). */
    formatVersion?: number
}

export const DEFAULT_MAX_BLOCK_AGE_MS = 3600 * 1000

/**
 * What `append` returns when it sealed nothing, as it does for nearly every reading: one
 * shared empty array, read-only, since an allocation costs the device more time than the
 * rest of an append (see the cost notes in bytes.ts).
 */
const NOTHING_SEALED: readonly SealedBlock[] = []

/**
 * The largest block (v2 unless `version` says 1) one reading can need: a header with every
 * varint at its longest (seq and boot 5 bytes, times and interval 8, count 2), and per channel
 * a 5-byte first value and its coding byte. A size limit below this could leave a reading no
 * block can hold.
 */
export function largestSingleReadingBlock(channelCount: number, version?: number): number {
    const header = 3 + 5 + (version === FORMAT_V1 ? LINK_BYTES : 0) + 5 + 8 + 8 + 8 + 2
    return header + 1 + 1 + 6 * channelCount + TAG_BYTES
}

export class Ledger {
    private head: ChainHead
    /** The open block's readings (this.builder), or undefined when no block is open. */
    private open: ReadingsBuilder = undefined
    /** One builder for every block, cleared when a block opens (sealing is done with it by then). */
    private readonly builder: ReadingsBuilder
    private openTime: BlockTime = undefined
    /** The open block's header and tag bytes without the reading count's varint (fixed while it is open). */
    private openOverhead = 0
    /**
     * Readings in the open block (the builder's count, kept here because append would
     * otherwise call for it on every reading), and the uptime at which its next one is due.
     */
    private openCount = 0
    private nextOnGrid = 0
    private latest: BlockTime = undefined
    /** When the newest sealed block ends (its last reading; a record's own time): a signed checkpoint's time. */
    private sealedEnd: BlockTime = undefined
    private readonly channelCount: number
    private readonly intervalMs: number
    private readonly maxBlockBytes: number
    private readonly maxReadings: number
    private readonly maxAgeMs: number
    private readonly version: number

    /**
     * The ledger takes ownership of `head.key` and wipes each epoch key as soon as the next
     * one is derived: pass a copy if the caller still needs K_0.
     */
    constructor(
        private readonly crypto: LedgerCrypto,
        private readonly deviceId: Buffer,
        readonly channels: ChannelSpec[],
        head: ChainHead,
        private readonly options: LedgerOptions
    ) {
        checkChannels(channels)
        if (!(options.intervalMs >= 1) || Math.floor(options.intervalMs) !== options.intervalMs)
            throw new RangeError("intervalMs must be a positive integer")
        this.maxBlockBytes = options.maxBlockBytes || MAX_BLOCK_BYTES
        const floor = largestSingleReadingBlock(channels.length, options.formatVersion)
        if (this.maxBlockBytes > MAX_BLOCK_BYTES || this.maxBlockBytes < floor)
            throw new RangeError(
                "maxBlockBytes must be " +
                    floor +
                    ".." +
                    MAX_BLOCK_BYTES +
                    " for " +
                    channels.length +
                    " channels, so any one reading fits a block"
            )
        this.maxReadings = options.maxReadingsPerBlock || MAX_READINGS_PER_BLOCK
        if (this.maxReadings > MAX_READINGS_PER_BLOCK || this.maxReadings < 1)
            throw new RangeError("maxReadingsPerBlock must be 1.." + MAX_READINGS_PER_BLOCK)
        if (options.maxValuesPerBlock !== undefined) {
            if (!(options.maxValuesPerBlock >= channels.length))
                throw new RangeError("maxValuesPerBlock must be at least the channel count, " + channels.length)
            const byValues = Math.floor(options.maxValuesPerBlock / channels.length)
            if (byValues < this.maxReadings) this.maxReadings = byValues
        }
        this.maxAgeMs = options.maxBlockAgeMs || DEFAULT_MAX_BLOCK_AGE_MS
        this.channelCount = channels.length
        this.intervalMs = options.intervalMs
        this.version = options.formatVersion === FORMAT_V1 ? FORMAT_V1 : FORMAT_VERSION
        this.builder = new ReadingsBuilder(channels.length, this.version)
        this.head = head
    }

    /**
     * The open block's content as it would be sealed now, without the tag: the flash
     * checkpoint that bounds what a power cut can lose. Undefined when no block is open.
     */
    openContent(): Buffer | undefined {
        if (!this.open) return undefined
        return encodeContent(
            this.head,
            { type: RECORD_DATA, time: this.openTime, intervalMs: this.intervalMs, readings: this.open },
            this.version
        )
    }

    /**
     * Seals the open block's checkpoint as flash holds it (its content at the head's seq,
     * decoded strictly when it was read), without re-encoding it: re-adding up to 192 values
     * with v2's coding choice takes more than one fiber run's op budget at boot
     * (test/device/ledgerlimits.test.ts), and the bytes are the ones the block would have.
     */
    sealCheckpoint(checkpoint: DecodedBlock): SealedBlock {
        if (this.open || checkpoint.header.seq !== this.head.seq) throw new RangeError("the checkpoint is not the next block")
        const { block, next } = sealEncoded(this.crypto, this.deviceId, this.head, checkpoint.content, RECORD_DATA)
        wipe(this.head.key)
        this.head = next
        return block
    }

    /** Readings in the open (not yet sealed) block, rebuilt from what the encoder keeps: see openReadingCount for the number. */
    openReadings(): Reading[] {
        return this.open ? this.open.readings() : []
    }

    /** Number of readings in the open block (0 when none is open). */
    openReadingCount(): number {
        return this.open ? this.openCount : 0
    }

    openBlockTime(): BlockTime {
        return this.openTime
    }

    /**
     * Time of the latest reading appended (undefined before any): a record sealed between
     * readings (a gap record) takes this time, so the next reading, due after it on the
     * sampling grid, can never appear earlier in the chain.
     */
    latestReadingTime(): BlockTime {
        return this.latest
    }

    private seal(content: BlockContent): SealedBlock {
        const { block, next } = sealBlock(this.crypto, this.deviceId, this.head, content, this.version)
        wipe(this.head.key)
        this.head = next
        // sealOpen runs before `latest` moves on to a reading of the next block.
        this.sealedEnd = content.type === RECORD_DATA ? this.latest : content.time
        return block
    }

    /** Seals the genesis block of a new chain (head at seq 0). */
    sealGenesis(time: BlockTime, firmware: string, board: string): SealedBlock {
        if (this.head.seq !== 0) throw new RangeError("the chain already has a genesis block")
        return this.seal({
            type: RECORD_GENESIS,
            time,
            intervalMs: this.intervalMs,
            genesis: { deviceId: this.deviceId, firmware, board, channels: this.channels },
        })
    }

    private openBlock(time: BlockTime) {
        this.builder.clear()
        this.open = this.builder
        this.openCount = 0
        this.openTime = time
        this.openOverhead = headerSize(this.head.seq, time, this.intervalMs, 0, this.version) - 1 + TAG_BYTES
    }

    /**
     * Adds a reading taken at `time`. Returns the blocks this sealed (none, or the block that
     * had no room for it, and the new block if the reading filled it), in a read-only array.
     */
    append(reading: Reading, time: BlockTime): readonly SealedBlock[] {
        if (this.head.seq === 0) throw new RangeError("seal the genesis block first")
        let sealed: SealedBlock[] = undefined
        // Written out rather than split into small methods: append runs for every reading,
        // and on the device every call allocates a frame (see the cost notes in bytes.ts).
        const open = this.open
        // A block's header declares reading i at first + i * interval within one boot: a
        // reading off that grid (a reboot, a stall the caller did not fill) starts a new block
        // so every reading's time stays what the chain says.
        let added = false
        if (open && time.boot === this.openTime.boot && time.uptimeMs === this.nextOnGrid) {
            // The size limit less header and tag; the reading count's varint takes one byte
            // up to 127 readings, two up to MAX_READINGS_PER_BLOCK. tryAdd checks the reading
            // as it adds it: a bad one is a RangeError that leaves everything as it was.
            added = open.tryAdd(reading, this.maxBlockBytes - this.openOverhead - (this.openCount < 127 ? 1 : 2))
            if (!added) sealed = [this.sealOpen()]
        } else {
            // Checked before the open block is sealed, so a bad reading changes nothing.
            checkReading(reading, this.channelCount)
            if (open) sealed = [this.sealOpen()]
        }
        if (!added) {
            this.openBlock(time)
            // Always fits: the size limit is at least largestSingleReadingBlock.
            this.open.tryAdd(reading, MAX_BLOCK_BYTES)
        }
        this.openCount++
        this.nextOnGrid = time.uptimeMs + this.intervalMs
        this.latest = time
        if (this.openCount >= this.maxReadings) {
            const full = this.sealOpen()
            if (sealed) sealed.push(full)
            else sealed = [full]
        }
        return sealed || NOTHING_SEALED
    }

    /** Seals the open block if it has reached the time limit at `now`. */
    tick(now: BlockTime): SealedBlock | undefined {
        if (!this.open) return undefined
        const aged = now.boot !== this.openTime.boot || now.uptimeMs - this.openTime.uptimeMs >= this.maxAgeMs
        return aged ? this.sealOpen() : undefined
    }

    /** Seals the open block now, whatever its size (none open: undefined). */
    sealOpen(): SealedBlock | undefined {
        if (!this.open) return undefined
        const content: BlockContent = {
            type: RECORD_DATA,
            time: this.openTime,
            intervalMs: this.intervalMs,
            readings: this.open,
        }
        this.open = undefined
        this.openTime = undefined
        return this.seal(content)
    }

    /**
     * What a signed checkpoint sealed next would be (docs/SIGNING.md): its seq, the link its
     * signed message covers, its time (the end of the newest sealed block, so the blocks around
     * it stay in time order however long the signing takes), and its content before the
     * signature (`checkpoint` without one). Undefined before this boot sealed anything. `at`: another
     * time (the golden vectors'), which must then keep the time order itself.
     */
    signedCheckpointContent(
        checkpoint: SignedCheckpoint,
        at?: BlockTime
    ): { seq: number; link: Buffer; time: BlockTime; content: Buffer } | undefined {
        const time = at || this.sealedEnd
        if (!time) return undefined
        const content = encodeContent(this.head, { type: RECORD_CHECKPOINT, time, intervalMs: this.intervalMs, checkpoint }, this.version)
        return { seq: this.head.seq, link: this.head.link, time, content }
    }

    /**
     * Seals the signed checkpoint that signedCheckpointContent described as block `seq`, now
     * signed. Undefined, and nothing sealed, when a block was sealed since (the signature then
     * covers another chain: it is dropped, never stored) or when the open block's header would
     * grow by a byte under the next seq (it was sized for this one).
     */
    sealSignedCheckpoint(checkpoint: SignedCheckpoint, time: BlockTime, seq: number): SealedBlock | undefined {
        if (seq !== this.head.seq || (this.open && varintLength(seq + 1) !== varintLength(seq))) return undefined
        return this.seal({ type: RECORD_CHECKPOINT, time, intervalMs: this.intervalMs, checkpoint })
    }

    /** Seals an authenticated statement of lost data (after sealing any open block). */
    sealGap(gap: GapBody, time: BlockTime): SealedBlock[] {
        const sealed: SealedBlock[] = []
        const open = this.sealOpen()
        if (open) sealed.push(open)
        sealed.push(this.seal({ type: RECORD_GAP, time, intervalMs: this.intervalMs, gap }))
        return sealed
    }
}
