/**
 * The chain in flash: the sealed backlog (blocks no gateway has acknowledged), the head (next
 * seq, link, current epoch key, boot counter) and a checkpoint of the open block, on top of a
 * small key-value store (the DeviceScript Settings service on the device, a Map in tests).
 *
 * Crash safety is a two-phase append, as in Zephyr's flash circular buffer: the block entry is
 * written and confirmed first, the head (the commit record) last. A reset between the two
 * leaves a complete block at the head's seq; `load()` finds it, checks it is the block the head
 * expects (its tag under the head's key, its link), and rolls the head forward. So a seq is
 * never sealed twice with different content and an epoch key is never used twice: K_n signs
 * only the block persisted at n, and the head never holds a key whose block is already stored.
 *
 * A full store drops writes without an error, so every write is read back (writeVerified,
 * src/lib/flash/verified.ts, which also says full, corrupt and io apart).
 *
 * When the backlog must shrink, the oldest blocks are dropped and the loss is kept in the head
 * as one contiguous range from the oldest block no gateway holds; each drop returns a gap
 * record body declaring that whole range (docs/STORAGE.md), which the caller seals. A later drop
 * extends the range and its record declares all of it, so a gateway that missed the earlier
 * record still finds one record that covers the jump.
 */
import { ByteReader, ByteWriter, constantTimeEqual, copyBytes, FormatError, mod } from "../codec/bytes"
import { DATA_EVOLVE_LABEL_BYTES } from "../ledger/datakey"
import { BlockSummary, ChainHead, decodeBlock, decodeBlockSummary, decodeContent, DecodedBlock } from "../ledger/chain"
import { DEFAULT_BACKLOG_BLOCKS, slotsForBacklog } from "./defaults"
import {
    BlockHeader,
    BlockTime,
    FORMAT_V1,
    GapBody,
    GAP_BACKLOG_FULL,
    KEY_BYTES,
    LINK_BYTES,
    RECORD_DATA,
    TAG_BYTES,
} from "../codec/format"
import { blockHash, blockTag, evolveKey, LedgerCrypto, seqInput } from "../ledger/keys"
import { BLOCK_KEY_PREFIX, GENESIS_KEY, HEAD_KEY, OPEN_KEY, PROVISIONED_DATA_KEY_SETTING } from "../flash/keys"
import { KeyValueStore, StorageError, writeVerified } from "../flash/verified"
import { warningLine } from "../log/lines"

export const DEFAULT_SLOTS = slotsForBacklog(DEFAULT_BACKLOG_BLOCKS)
/** 2 adds baseLink (v2 blocks do not store their link); version 1 heads, from older firmware, are still read. */
const HEAD_VERSION = 2

/**
 * Where block `seq` lives. The settings store never forgets a key (a delete leaves a marker
 * that garbage collection keeps), so blocks go round a fixed ring of slot keys, overwritten and
 * never deleted; the genesis block has its own key so the ring can never overwrite it.
 */
export function blockKey(seq: number, slots: number): string {
    return seq === 0 ? GENESIS_KEY : BLOCK_KEY_PREFIX + mod(seq - 1, slots)
}

/** Blocks dropped from the backlog that no gateway has acknowledged: one contiguous range. */
export interface PendingLoss {
    fromSeq: number
    toSeq: number
    /** Readings in the dropped blocks (and in dropped power-loss records). */
    readings: number
    /** Time of the first dropped reading. */
    from: BlockTime
}

/** The commit record: everything needed to seal the next block and to find the backlog. */
export interface StoredHead {
    /** Seq of the next block to seal; its epoch key is `key`. */
    seq: number
    link: Buffer
    key: Buffer
    boot: number
    /**
     * Oldest block still in flash; the backlog is oldestSeq .. seq - 1 without the pending
     * loss. The loss ends at oldestSeq - 1, except that an unacknowledged genesis block (seq 0)
     * is never dropped, so with oldestSeq 0 the loss starts at seq 1.
     */
    oldestSeq: number
    loss?: PendingLoss
    /**
     * The hash of the block before the first one the next drop would take (firstDroppable):
     * a v2 block's hash covers its link, which it does not store, so hashes of backlog blocks
     * are computed forward from here. Undefined only while that block is a v1 block (a head
     * written by firmware before v2), whose hash needs no link.
     */
    baseLink?: Buffer
    /**
     * D_seq, the data key of the next block, on a chain provisioned with encryption (stored
     * after everything else; absent: readings in clear). Moved on with the seq by writeHead.
     */
    dataKey?: Buffer
}

/** The first block a drop would take: after the pending loss, never the genesis block. */
function firstDroppable(h: StoredHead): number {
    return h.loss ? h.loss.toSeq + 1 : Math.max(h.oldestSeq, 1)
}

export function encodeHead(h: StoredHead): Buffer {
    if (h.link.length !== LINK_BYTES || h.key.length !== KEY_BYTES) throw new RangeError("head link and key must be 32 bytes")
    if (h.oldestSeq > h.seq) throw new RangeError("oldestSeq after the head")
    const w = new ByteWriter(152).u8(HEAD_VERSION).varint(h.seq).bytes(h.link).bytes(h.key).varint(h.boot).varint(h.oldestSeq)
    if (!h.loss) w.u8(0)
    else {
        if (!lossFits(h)) throw new RangeError("pending loss " + h.loss.fromSeq + ".." + h.loss.toSeq + " does not fit the backlog")
        w.u8(1).varint(h.loss.fromSeq).varint(h.loss.toSeq).varint(h.loss.readings).varint(h.loss.from.boot).varint(h.loss.from.uptimeMs)
    }
    if (!h.baseLink) w.u8(0)
    else w.u8(1).bytes(h.baseLink)
    if (h.dataKey) w.bytes(h.dataKey)
    return w.finish()
}

export function decodeHead(value: Buffer): StoredHead {
    const r = new ByteReader(value, "stored head")
    const version = r.u8("version")
    if (version !== HEAD_VERSION && version !== 1) throw new FormatError("stored head version " + version + " unknown")
    const head: StoredHead = {
        seq: r.varint("seq"),
        link: r.bytes(LINK_BYTES, "link"),
        key: r.bytes(KEY_BYTES, "key"),
        boot: r.varint("boot"),
        oldestSeq: r.varint("oldest seq"),
    }
    const hasLoss = r.u8("loss flag")
    if (hasLoss === 1) {
        head.loss = {
            fromSeq: r.varint("loss start"),
            toSeq: r.varint("loss end"),
            readings: r.varint("lost readings"),
            from: { boot: r.varint("loss boot"), uptimeMs: r.varint("loss uptime") },
        }
        if (!lossFits(head)) throw new FormatError("stored head: loss range inconsistent")
    } else if (hasLoss !== 0) throw new FormatError("stored head: bad loss flag")
    if (version === 1) {
        // Firmware before v2 sealed only v1 blocks, whose hashes need no link; an empty backlog's base is the head's link.
        if (firstDroppable(head) >= head.seq) head.baseLink = head.link
    } else {
        const hasBase = r.u8("base link flag")
        if (hasBase === 1) head.baseLink = r.bytes(LINK_BYTES, "base link")
        else if (hasBase !== 0) throw new FormatError("stored head: bad base link flag")
        if (r.remaining() === KEY_BYTES) head.dataKey = r.bytes(KEY_BYTES, "data key")
    }
    if (r.remaining() !== 0 || head.oldestSeq > head.seq) throw new FormatError("stored head is inconsistent")
    return head
}

function lossFits(h: StoredHead): boolean {
    const l = h.loss
    if (l.fromSeq > l.toSeq || l.toSeq >= h.seq || l.fromSeq < 1) return false
    return l.toSeq === h.oldestSeq - 1 || (h.oldestSeq === 0 && l.fromSeq === 1)
}

function isLost(h: StoredHead, seq: number): boolean {
    return !!h.loss && seq >= h.loss.fromSeq && seq <= h.loss.toSeq
}

function headWith(
    seq: number,
    link: Buffer,
    key: Buffer,
    boot: number,
    oldestSeq: number,
    loss: PendingLoss,
    baseLink: Buffer
): StoredHead {
    const next: StoredHead = { seq, link, key, boot, oldestSeq }
    if (loss) next.loss = loss
    if (baseLink) next.baseLink = baseLink
    return next
}

export interface LoadResult {
    head: StoredHead
    /** True when a block written before a reset was found and adopted. */
    rolledForward: boolean
    /** The open block at its last checkpoint (undefined: none, or stale). */
    checkpoint?: DecodedBlock
}

export class ChainStore {
    private head: StoredHead = undefined
    /** Readings in the backlog's data blocks; -1 when unknown (recounted on demand). */
    private readingsInBacklog = -1

    /** `slots` must exceed the backlog budget: a slot is reused only once its block is acknowledged or dropped. */
    constructor(
        private readonly kv: KeyValueStore,
        private readonly crypto: LedgerCrypto,
        private readonly deviceId: Buffer,
        readonly slots: number = DEFAULT_SLOTS
    ) {}

    /**
     * The block stored for `seq`, if its slot holds that seq (a slot also holds older seqs).
     * Only its header is decoded: every sync round and recount reads the whole backlog, and
     * decoding each block's readings just to check its seq was most of that work.
     */
    private async getBlock(seq: number): Promise<{ bytes: Buffer; block: BlockSummary } | undefined> {
        const bytes = await this.kv.get(blockKey(seq, this.slots))
        if (!bytes || bytes.length === 0) return undefined
        let block: BlockSummary
        try {
            block = decodeBlockSummary(bytes)
        } catch (e) {
            return undefined // torn or foreign: not a block we can use
        }
        return block.header.seq === seq ? { bytes, block } : undefined
    }

    /**
     * Whether `bytes` (a block with this `header`) is the one `h` expects next: its seq and link
     * (v1 stores it; v2's tag binds it), tagged under the head's key.
     */
    private isNextBlock(header: BlockHeader, bytes: Buffer, h: StoredHead): boolean {
        if (header.seq !== h.seq || (header.link && !constantTimeEqual(header.link, h.link))) return false
        const contentLength = bytes.length - TAG_BYTES
        const tag = blockTag(this.crypto, h.key, this.deviceId, copyBytes(bytes, 0, contentLength), h.link)
        return constantTimeEqual(tag, copyBytes(bytes, contentLength, TAG_BYTES))
    }

    /**
     * The hash of block `seq`, from the head's baseLink forward over the backlog's blocks up to
     * it (one SHA-256 each; a v2 hash needs its link). Undefined when the store cannot tell: not
     * in the backlog after firstDroppable, a block missing from flash, or an unknown base.
     */
    async blockHash(seq: number): Promise<Buffer | undefined> {
        const h = this.head
        if (seq === h.seq - 1) return h.link
        const first = firstDroppable(h)
        if (seq === first - 1) return h.baseLink
        if (seq < first || seq >= h.seq) return undefined
        return await this.hashForward(h.baseLink, first, seq)
    }

    /** Hashes blocks from..to in turn, `link` being the hash of block from - 1. */
    private async hashForward(link: Buffer, from: number, to: number): Promise<Buffer | undefined> {
        for (let s = from; s <= to; s++) {
            const found = await this.getBlock(s)
            if (!found || (!link && found.bytes[0] !== FORMAT_V1)) return undefined
            link = blockHash(this.crypto, link, found.bytes)
        }
        return link
    }

    private async writeHead(head: StoredHead) {
        // The data key follows the seq: the same D for the same seq, D_(seq+1) for a commit or a
        // roll-forward (the only writes that move the seq, by one). create() sets it for a new
        // chain. (The store's keys, K and D, are overwritten in flash, not wiped in RAM: the
        // Ledger wipes its own copies.)
        const d = this.head && this.head.dataKey
        if (d)
            head.dataKey =
                head.seq === this.head.seq ? d : this.crypto.hmacSha256(d, seqInput(DATA_EVOLVE_LABEL_BYTES, this.deviceId, this.head.seq))
        await writeVerified(this.kv, HEAD_KEY, encodeHead(head))
        // A commit keeps the count up to date itself; anything else that moves the backlog
        // (acknowledgement, drop, roll-forward) has it recounted when next asked.
        if (!this.head || head.oldestSeq !== this.head.oldestSeq || head.seq !== this.head.seq + 1) this.readingsInBacklog = -1
        this.head = head
    }

    /** Readings held in the backlog (reads the backlog once after a drop or acknowledgement). */
    async backlogReadings(): Promise<number> {
        if (this.readingsInBacklog < 0) {
            let n = 0
            for (let s = this.head.oldestSeq; s < this.head.seq; s++) {
                if (isLost(this.head, s)) continue
                const found = await this.getBlock(s)
                if (found) n += found.block.header.readingCount
            }
            this.readingsInBacklog = n
        }
        return this.readingsInBacklog
    }

    currentHead(): StoredHead {
        return this.head
    }

    /**
     * Reads the head (undefined: a device with no chain yet), adopts a block that was written
     * but not committed, and returns the open block's checkpoint if it belongs to the head.
     */
    async load(): Promise<LoadResult | undefined> {
        const raw = await this.kv.get(HEAD_KEY)
        if (!raw || raw.length === 0) return undefined
        const stored = decodeHead(raw)
        this.head = stored
        let rolledForward = false
        const found = await this.getBlock(stored.seq)
        // A block at the head's seq that the head's key did not tag (a previous chain's, say)
        // is not ours: it is left to be overwritten, never adopted, and never a reason to stop
        // booting.
        const ours = found && this.isNextBlock(found.block.header, found.bytes, stored)
        if (found && !ours) console.log(warningLine("flash holds a stale block at seq " + stored.seq + "; ignored"))
        if (ours) {
            const pending = found.bytes
            const key = evolveKey(this.crypto, stored.key, this.deviceId, stored.seq)
            const hash = blockHash(this.crypto, stored.link, pending)
            await this.writeHead(
                headWith(
                    stored.seq + 1,
                    hash,
                    key,
                    stored.boot,
                    stored.oldestSeq,
                    stored.loss,
                    stored.seq === firstDroppable(stored) - 1 ? hash : stored.baseLink
                )
            )
            rolledForward = true
        }
        const result: LoadResult = { head: this.head, rolledForward }
        const open = await this.kv.get(OPEN_KEY)
        if (open && open.length > 0) {
            try {
                const content = decodeContent(open)
                if (content.header.seq === this.head.seq && content.header.type === RECORD_DATA) result.checkpoint = content
            } catch (e) {
                // An unreadable checkpoint is ignored: what it held is reported as a power-loss gap.
            }
        }
        return result
    }

    /**
     * Reads the head as it is in flash and adopts nothing, never writing: for a reader that is
     * not the device (`fieldledger bridge` reading the backlog over the bus). Undefined: no chain.
     */
    async readHead(): Promise<StoredHead | undefined> {
        const raw = await this.kv.get(HEAD_KEY)
        if (!raw || raw.length === 0) return undefined
        this.head = decodeHead(raw)
        this.readingsInBacklog = -1
        return this.head
    }

    /** Starts a chain in empty flash: the head before its genesis block. */
    async create(head: ChainHead, boot: number) {
        // A new chain is encrypted when `provision --encrypt` left D_0 in fl_d0 (read here, where
        // the head is made, and deleted with fl_k0 by forgetProvisionedKey); nothing carries over
        // from an old head.
        this.head = undefined
        const d0 = await this.kv.get(PROVISIONED_DATA_KEY_SETTING)
        // Copies: the ledger wipes its key buffers as it evolves them.
        await this.writeHead({
            dataKey: d0 && d0.length === KEY_BYTES ? d0 : undefined,
            seq: head.seq,
            link: copyBytes(head.link, 0, LINK_BYTES),
            key: copyBytes(head.key, 0, KEY_BYTES),
            boot,
            oldestSeq: head.seq,
            baseLink: copyBytes(head.link, 0, LINK_BYTES),
        })
    }

    /** Counts a new boot in the head (the boot counter goes into every block's time). */
    async recordBoot(): Promise<number> {
        const h = this.head
        await this.writeHead(headWith(h.seq, h.link, h.key, h.boot + 1, h.oldestSeq, h.loss, h.baseLink))
        return this.head.boot
    }

    /**
     * Persists the next sealed block and the head after it: phase 1 the block entry, phase 2
     * the head. The store derives that head itself (link = the block's hash, key = K_(seq+1)
     * from its own K_seq) after checking the block is tagged under K_seq and links to the head,
     * so flash can never hold a head that disagrees with the blocks.
     */
    async commit(blockBytes: Buffer, blockSeq: number) {
        const h = this.head
        if (blockSeq !== h.seq) throw new RangeError("commit out of order: head at " + h.seq + ", block " + blockSeq)
        const block = decodeBlock(blockBytes)
        if (!this.isNextBlock(block.header, blockBytes, h))
            throw new RangeError("block " + blockSeq + " is not the next block of the stored chain")
        const occupant = blockSeq - this.slots
        if (blockSeq > 0 && occupant >= 1 && occupant >= h.oldestSeq && !isLost(h, occupant))
            throw new StorageError("full", "backlog full: the slot of block " + blockSeq + " still holds unacknowledged block " + occupant)
        await writeVerified(this.kv, blockKey(blockSeq, this.slots), blockBytes)
        const key = evolveKey(this.crypto, h.key, this.deviceId, h.seq)
        const counted = this.readingsInBacklog
        const hash = blockHash(this.crypto, h.link, blockBytes)
        // The genesis block's hash is the base of a chain's first droppable block (seq 1).
        const baseLink = blockSeq === firstDroppable(h) - 1 ? hash : h.baseLink
        await this.writeHead(headWith(h.seq + 1, hash, key, h.boot, h.oldestSeq, h.loss, baseLink))
        if (counted >= 0) this.readingsInBacklog = counted + block.header.readingCount
    }

    /** Saves the open block's content (no tag), so a power cut loses at most what came after. */
    async checkpoint(content: Buffer | undefined) {
        // One key, overwritten; a delete of it leaves one marker that the next checkpoint replaces.
        if (!content) await this.kv.delete(OPEN_KEY)
        else await writeVerified(this.kv, OPEN_KEY, content)
    }

    /**
     * The header of the last sealed block (seq - 1), read from its slot even when a gateway has
     * acknowledged it (no later block has reused the slot); undefined when there is none.
     */
    async lastSealedHeader(): Promise<BlockHeader | undefined> {
        if (this.head.seq === 0) return undefined
        const found = await this.getBlock(this.head.seq - 1)
        return found ? found.block.header : undefined
    }

    async readBlock(seq: number): Promise<Buffer | undefined> {
        if (seq < this.head.oldestSeq || seq >= this.head.seq || isLost(this.head, seq)) return undefined
        const found = await this.getBlock(seq)
        return found ? found.bytes : undefined
    }

    backlogBlocks(): number {
        const h = this.head
        const lost = h.loss && h.oldestSeq === 0 ? h.loss.toSeq - h.loss.fromSeq + 1 : 0
        return h.seq - h.oldestSeq - lost
    }

    /**
     * Forgets blocks up to and including `seq`, which a gateway holds. A gateway acknowledges
     * only a contiguous chain, so an acknowledgement past the pending loss settles it. Head
     * first, then the entries: a reset in between leaves garbage below oldestSeq, never a hole.
     */
    async acknowledge(seq: number) {
        const h = this.head
        const upTo = Math.min(seq, h.seq - 1)
        if (upTo < h.oldestSeq) return
        let oldest = upTo + 1
        let loss = h.loss
        if (loss && upTo >= loss.toSeq) loss = undefined
        else if (loss && oldest >= loss.fromSeq) oldest = loss.toSeq + 1
        // The base moves up to the new first droppable block, hashed forward over the acknowledged ones.
        const first = firstDroppable(h)
        const nextFirst = firstDroppable(headWith(h.seq, h.link, h.key, h.boot, oldest, loss, undefined))
        const baseLink =
            nextFirst === first ? h.baseLink : nextFirst === h.seq ? h.link : await this.hashForward(h.baseLink, first, nextFirst - 1)
        // Nothing is deleted: the slots of acknowledged blocks are simply reused.
        await this.writeHead(headWith(h.seq, h.link, h.key, h.boot, oldest, loss, baseLink))
    }

    /**
     * Drops the oldest `count` blocks of the backlog (never an unacknowledged genesis block) to
     * make room, and returns the body of the gap record that declares the whole pending loss:
     * the caller seals it, so the loss is never silent. Undefined when there is nothing to drop.
     */
    async dropOldest(count: number): Promise<GapBody | undefined> {
        const h = this.head
        const first = h.loss ? h.loss.toSeq + 1 : Math.max(h.oldestSeq, 1)
        const last = Math.min(first + count - 1, h.seq - 1)
        if (count < 1 || last < first) return undefined
        let readings = h.loss ? h.loss.readings : 0
        let from: BlockTime = h.loss ? h.loss.from : undefined
        let lastHash: Buffer = h.baseLink
        for (let s = first; s <= last; s++) {
            const found = await this.getBlock(s)
            if (!found) throw new StorageError("corrupt", "backlog block " + s + " missing from flash")
            const bytes = found.bytes
            const block = found.block
            // Readings of earlier dropped blocks are already in the pending loss; a power-loss
            // record's readings are not, and would vanish with it.
            if (block.header.type === RECORD_DATA) readings += block.header.readingCount
            else if (block.gap && block.gap.lostBlocks === 0) readings += block.gap.lostReadings
            if (!from) from = block.header.time
            // A v2 hash needs the link: the hash of the block before, known from baseLink on.
            if (!lastHash && bytes[0] !== FORMAT_V1)
                throw new StorageError("corrupt", "backlog block " + s + ": its link is unknown, so a gap record could not name its hash")
            lastHash = blockHash(this.crypto, lastHash, bytes)
        }
        const loss: PendingLoss = {
            fromSeq: h.loss ? h.loss.fromSeq : first,
            toSeq: last,
            readings,
            from: { boot: from.boot, uptimeMs: from.uptimeMs },
        }
        // The last dropped block's hash is the base of the next drop.
        await this.writeHead(headWith(h.seq, h.link, h.key, h.boot, h.oldestSeq === 0 ? 0 : last + 1, loss, lastHash))
        return {
            reason: GAP_BACKLOG_FULL,
            lostReadings: readings,
            from: loss.from,
            lostBlocks: last - loss.fromSeq + 1,
            firstLostSeq: loss.fromSeq,
            lastLostHash: copyBytes(lastHash, 0, LINK_BYTES),
        }
    }
}
