/**
 * The ledger: takes readings, keeps the open block, seals it when the next reading would not
 * fit, when it holds the most readings allowed, or when it is older than the time limit.
 * Pure (time comes in as arguments), so the firmware and the Node load generator share it.
 */
import { varintLength, wipe } from "./bytes"
import { BlockContent, ChainHead, encodeContent, sealBlock, SealedBlock } from "./chain"
import {
    BlockTime,
    ChannelSpec,
    checkChannels,
    GapBody,
    headerSize,
    MAX_BLOCK_BYTES,
    MAX_READINGS_PER_BLOCK,
    RECORD_DATA,
    RECORD_GAP,
    RECORD_GENESIS,
    TAG_BYTES,
} from "./format"
import { LedgerCrypto } from "./keys"
import { checkReading, Reading, ReadingsBuilder } from "./readings"

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
     * The device sets it (src/config.ts) so that sealing, committing and restoring a block
     * stays within one fiber run's op budget; the format allows 255 x 8.
     */
    maxValuesPerBlock?: number
}

export const DEFAULT_MAX_BLOCK_AGE_MS = 3600 * 1000

/**
 * The largest block one reading can need: a header with every varint at its longest (seq and
 * boot 5 bytes, times and interval 8, count 2), and per channel a 5-byte first value and its
 * width byte. A size limit below this could leave a reading no block can hold.
 */
export function largestSingleReadingBlock(channelCount: number): number {
    const header = 3 + 5 + 32 + 5 + 8 + 8 + 8 + 2
    return header + 1 + 1 + 6 * channelCount + TAG_BYTES
}

export class Ledger {
    private head: ChainHead
    private open: ReadingsBuilder = undefined
    private openTime: BlockTime = undefined
    /** The open block's header and tag bytes without the reading count's varint (fixed while it is open). */
    private openOverhead = 0
    private latest: BlockTime = undefined
    private readonly maxBlockBytes: number
    private readonly maxReadings: number
    private readonly maxAgeMs: number

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
        const floor = largestSingleReadingBlock(channels.length)
        if (this.maxBlockBytes > MAX_BLOCK_BYTES || this.maxBlockBytes < floor)
            throw new RangeError("maxBlockBytes must be " + floor + ".." + MAX_BLOCK_BYTES + " for " + channels.length + " channels, so any one reading fits a block")
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
        this.head = head
    }

    /**
     * The open block's content as it would be sealed now, without the tag: the flash
     * checkpoint that bounds what a power cut can lose. Undefined when no block is open.
     */
    openContent(): Buffer | undefined {
        if (!this.open) return undefined
        return encodeContent(this.head, { type: RECORD_DATA, time: this.openTime, intervalMs: this.options.intervalMs, readings: this.open })
    }

    /** Reopens the block a checkpoint saved (before any new reading). */
    restoreOpen(readings: Reading[], time: BlockTime) {
        if (this.open) throw new RangeError("a block is already open")
        if (readings.length === 0) return
        this.openBlock(time)
        for (const r of readings) this.open.add(r)
    }

    /** Readings in the open (not yet sealed) block. */
    openReadings(): Reading[] {
        return this.open ? this.open.values : []
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
        const { block, next } = sealBlock(this.crypto, this.deviceId, this.head, content)
        wipe(this.head.key)
        this.head = next
        return block
    }

    /** Seals the genesis block of a new chain (head at seq 0). */
    sealGenesis(time: BlockTime, firmware: string, board: string): SealedBlock {
        if (this.head.seq !== 0) throw new RangeError("the chain already has a genesis block")
        return this.seal({
            type: RECORD_GENESIS,
            time,
            intervalMs: this.options.intervalMs,
            genesis: { deviceId: this.deviceId, firmware, board, channels: this.channels },
        })
    }

    private openBlock(time: BlockTime) {
        this.open = new ReadingsBuilder(this.channels.length)
        this.openTime = time
        this.openOverhead = headerSize(this.head.seq, time, this.options.intervalMs, 0) - 1 + TAG_BYTES
    }

    /** Adds `reading` (checked) to the open block if the block then stays within the size limit. */
    private addToOpen(reading: Reading): boolean {
        const room = this.maxBlockBytes - this.openOverhead - varintLength(this.open.count() + 1)
        return this.open.tryAdd(reading, room)
    }

    /**
     * Adds a reading taken at `time`. Returns the blocks this sealed (none, or the block that
     * had no room for it, and the new block if the reading filled it).
     */
    append(reading: Reading, time: BlockTime): SealedBlock[] {
        if (this.head.seq === 0) throw new RangeError("seal the genesis block first")
        checkReading(reading, this.channels.length)
        const sealed: SealedBlock[] = []
        // A block's header declares reading i at first + i * interval within one boot: a
        // reading off that grid (a reboot, a stall the caller did not fill) starts a new block
        // so every reading's time stays what the chain says.
        if (this.open && (!this.onGrid(time) || !this.addToOpen(reading))) sealed.push(this.sealOpen())
        if (!this.open) {
            this.openBlock(time)
            // Always fits: the size limit is at least largestSingleReadingBlock.
            this.open.tryAdd(reading, MAX_BLOCK_BYTES)
        }
        this.latest = time
        if (this.open.count() >= this.maxReadings) sealed.push(this.sealOpen())
        return sealed
    }

    private onGrid(time: BlockTime): boolean {
        const expected = this.openTime.uptimeMs + this.open.count() * this.options.intervalMs
        return time.boot === this.openTime.boot && time.uptimeMs === expected
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
            intervalMs: this.options.intervalMs,
            readings: this.open,
        }
        this.open = undefined
        this.openTime = undefined
        return this.seal(content)
    }

    /** Seals an authenticated statement of lost data (after sealing any open block). */
    sealGap(gap: GapBody, time: BlockTime): SealedBlock[] {
        const sealed: SealedBlock[] = []
        const open = this.sealOpen()
        if (open) sealed.push(open)
        sealed.push(this.seal({ type: RECORD_GAP, time, intervalMs: this.options.intervalMs, gap }))
        return sealed
    }
}
