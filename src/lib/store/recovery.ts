/**
 * Opening the chain at boot: a new chain in empty flash (genesis under a fresh K_0), or the
 * stored one continued from its head, never restarted. K_0 is asked for only when there is no
 * chain: restarting from K_0 at every boot would reuse epoch keys and undo forward security.
 * After a reset the checkpointed open block is sealed (in its own boot's time) and a power-loss
 * gap record states how many readings may have been lost since that checkpoint. Those blocks
 * are returned, not committed: they go through the backlog like any other, which makes room
 * when flash is full (committing them here would fail on a full backlog at every boot).
 */
import { SealedBlock } from "../ledger/chain"
import { ChainStore } from "./chainstore"
import { copyBytes, wipe } from "../codec/bytes"
import { BlockHeader, BlockTime, ChannelSpec, GAP_POWER_LOSS, KEY_BYTES, LINK_BYTES } from "../codec/format"
import { LedgerCrypto } from "../ledger/keys"
import { Ledger, LedgerOptions } from "../ledger/ledger"

export interface OpenChainOptions {
    store: ChainStore
    crypto: LedgerCrypto
    deviceId: Buffer
    channels: ChannelSpec[]
    ledger: LedgerOptions
    firmwareVersion: string
    board: string
    /** Readings between checkpoints: what a power cut can lose at most. */
    checkpointEvery: number
    /** K_0 for a new chain; called only when flash holds none, or for a successor chain. */
    newKey(): Promise<Buffer>
    /**
     * Start a successor chain even though flash holds one (a provisioned K_0 is waiting,
     * src/lib/store/provisioned.ts): its genesis links to the stored head, the boot counter goes on.
     */
    successor?: boolean
    /** Milliseconds since this boot. */
    uptimeMs(): number
    /** Called with the genesis block of a new chain, after it is committed. */
    onSealed(block: SealedBlock): Promise<void>
}

export interface OpenedChain {
    ledger: Ledger
    boot: number
    created: boolean
    /** Blocks sealed while recovering from a reset, in order, still to be committed. */
    recovered: SealedBlock[]
}

/** The first reading slot after a block's readings (its own time when it has none). */
function slotAfter(h: BlockHeader): BlockTime {
    return { boot: h.time.boot, uptimeMs: h.time.uptimeMs + h.readingCount * h.intervalMs }
}

export async function openChain(o: OpenChainOptions): Promise<OpenedChain> {
    const { store } = o
    let loaded = await store.load()
    let boot = 0
    if (!loaded || o.successor) {
        const previous = loaded ? loaded.head : undefined
        if (previous) {
            boot = previous.boot + 1
            // The old chain's open block must not be restored into the new one.
            await store.checkpoint(undefined)
        }
        const key0 = await o.newKey()
        await store.create({ seq: 0, link: previous ? copyBytes(previous.link, 0, LINK_BYTES) : Buffer.alloc(LINK_BYTES), key: key0 }, boot)
        wipe(key0)
        loaded = undefined
    } else boot = await store.recordBoot()
    const h = store.currentHead()
    // Read before this boot seals anything: the last block the previous boots left.
    const lastSealed = loaded && !loaded.checkpoint ? await store.lastSealedHeader() : undefined
    // The ledger owns (and wipes) its key: give it a copy of the stored one.
    const ledger = new Ledger(
        o.crypto,
        o.deviceId,
        o.channels,
        {
            seq: h.seq,
            link: copyBytes(h.link, 0, LINK_BYTES),
            key: copyBytes(h.key, 0, KEY_BYTES),
            dataKey: h.dataKey,
        },
        o.ledger
    )
    // A reset between the genesis head and the genesis block leaves seq 0: seal it (again).
    // Flash holds nothing else then, so this commit cannot meet a full backlog.
    if (h.seq === 0) {
        const genesis = ledger.sealGenesis({ boot, uptimeMs: o.uptimeMs() }, o.firmwareVersion, o.board)
        await store.commit(genesis.bytes, genesis.seq)
        await o.onSealed(genesis)
    }
    const recovered: SealedBlock[] = []
    if (loaded) {
        // `from` is the first reading slot nothing in flash covers (docs/FORMAT.md, power-loss):
        // the slot after the checkpoint's readings, or else after the last sealed block's (a
        // genesis or gap record has none: its own time). Only with neither: the previous boot's start.
        let lostFrom: BlockTime = { boot: boot - 1, uptimeMs: 0 }
        const cp = loaded.checkpoint
        if (cp) {
            recovered.push(ledger.sealCheckpoint(cp))
            lostFrom = slotAfter(cp.header)
        } else if (lastSealed) lostFrom = slotAfter(lastSealed)
        // Readings taken after the last checkpoint of the previous boot are gone: at most
        // checkpointEvery of them (the reset may have hit the checkpoint write itself).
        for (const b of ledger.sealGap(
            { reason: GAP_POWER_LOSS, lostReadings: o.checkpointEvery, lostBlocks: 0, firstLostSeq: 0, from: lostFrom },
            { boot, uptimeMs: o.uptimeMs() }
        ))
            recovered.push(b)
    }
    return { ledger, boot, created: !loaded, recovered }
}
