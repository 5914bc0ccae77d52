/**
 * The flash sink of sealed blocks: commits each block, keeps the backlog within its budget by
 * dropping the oldest blocks and sealing the gap record that declares them, and checkpoints the
 * open block every few readings. Pure (ChainStore and Ledger only), so Node tests drive it with
 * a simulated flash.
 */
import { SealedBlock } from "./chain"
import { ChainStore, StorageError } from "./chainstore"
import { BlockTime } from "./format"
import { Ledger } from "./ledger"

export interface BacklogOptions {
    store: ChainStore
    ledger: Ledger
    /** Most blocks kept unacknowledged in flash; beyond it the oldest are dropped. */
    maxBacklogBlocks: number
    /** Blocks dropped at a time: a few at once, so gap records stay rare. */
    dropBlocks?: number
    checkpointEvery: number
    now(): BlockTime
    /** Told about every committed block (console, sync). */
    onSealed(block: SealedBlock): Promise<void>
}

export function startBacklog(o: BacklogOptions) {
    const { store, ledger } = o
    const dropBlocks = o.dropBlocks || Math.max(1, Math.floor(o.maxBacklogBlocks / 4))

    const commitOne = async (block: SealedBlock) => {
        try {
            await store.commit(block.bytes, block.seq)
        } catch (e) {
            if (!(e instanceof StorageError)) throw e
            // Flash full before the budget was reached: make room and try once more.
            if (!(await makeRoom())) throw e
            await store.commit(block.bytes, block.seq)
        }
        await o.onSealed(block)
    }

    let pendingGaps: SealedBlock[] = []
    const makeRoom = async (): Promise<boolean> => {
        const gap = await store.dropOldest(dropBlocks)
        if (!gap) return false
        console.log("fl:backlog full: dropped blocks " + gap.firstLostSeq + ".." + (gap.firstLostSeq + gap.lostBlocks - 1) + " (" + gap.lostReadings + " readings), sealing a gap record")
        pendingGaps = ledger.sealGap(gap, o.now())
        return true
    }

    const onSealed = async (block: SealedBlock) => {
        await commitOne(block)
        if (store.backlogBlocks() > o.maxBacklogBlocks) await makeRoom()
        while (pendingGaps.length > 0) {
            const next = pendingGaps
            pendingGaps = []
            for (const b of next) await commitOne(b)
        }
    }

    const afterReading = async (openReadings: number) => {
        if (openReadings > 0 && openReadings % o.checkpointEvery === 0) await store.checkpoint(ledger.openContent())
    }

    return { onSealed, afterReading }
}
