/**
 * The flash sink of sealed blocks: commits each block in seal order, keeps the backlog within
 * its budget by dropping the oldest blocks and sealing the gap record that declares them, and
 * checkpoints the open block every few readings. A block flash refused stays queued in RAM
 * and is retried with the next one, so a full store delays blocks but never reorders or
 * silently loses them. Only a full store (StorageError kind "full") makes room by dropping the
 * oldest blocks: an I/O error or a corrupt read-back is not cured by dropping data, so the
 * blocks wait in RAM and the next commit tries again. Pure (ChainStore and Ledger only): Node tests drive it on a simulated
 * flash.
 */
import { SealedBlock } from "../ledger/chain"
import { ChainStore } from "./chainstore"
import { StorageError } from "../flash/verified"
import { BlockTime, GapBody, GAP_SAMPLING_STOPPED } from "../codec/format"
import { Ledger } from "../ledger/ledger"
import { backlogLine, errorLine } from "../log/lines"

export interface BacklogOptions {
    store: ChainStore
    ledger: Ledger
    /** Most blocks kept unacknowledged in flash (below the store's slot count). */
    maxBacklogBlocks: number
    /**
     * Blocks dropped at a time (at least 2): a drop seals a gap record, which takes a slot
     * itself, so dropping one at a time would free nothing.
     */
    dropBlocks?: number
    checkpointEvery: number
    /**
     * What a full backlog does: "drop-oldest" (default) keeps sampling and drops the oldest
     * blocks; "stop-sampling" keeps every sealed block and stops taking readings until a
     * gateway acknowledges some, then seals a gap record that counts the readings not taken.
     */
    whenFull?: "drop-oldest" | "stop-sampling"
    now(): BlockTime
    /** Told about every committed block (console, sync). */
    onSealed(block: SealedBlock): Promise<void>
    /**
     * Lets other fibers run while one waits for the store (the device: `ds.sleep`). Sealing
     * and sync both move the stored head; each change of it runs alone. It must really
     * suspend (a timer), or the waiting fiber starves the one holding the store.
     */
    pause(): Promise<void>
}

export function startBacklog(o: BacklogOptions) {
    const { store, ledger } = o
    if (o.maxBacklogBlocks >= store.slots) throw new RangeError("maxBacklogBlocks must be below the store's " + store.slots + " slots")
    const dropBlocks = Math.max(2, o.dropBlocks || Math.floor(o.maxBacklogBlocks / 4))
    const queue: SealedBlock[] = []
    const stopMode = o.whenFull === "stop-sampling"
    let notTaken = 0
    let stoppedAt: BlockTime = undefined
    let busy = false

    // No `new Promise` on DeviceScript: waiting for the store is a polling pause.
    const exclusive = async (work: () => Promise<void>) => {
        while (busy) await o.pause()
        busy = true
        try {
            await work()
        } finally {
            busy = false
        }
    }

    const makeRoom = async (): Promise<boolean> => {
        if (stopMode) return false
        let gap: GapBody = undefined
        try {
            gap = await store.dropOldest(dropBlocks)
        } catch (e) {
            // A backlog block missing, or the head not kept: nothing was dropped; the blocks wait.
            if (!(e instanceof StorageError)) throw e
            console.log(errorLine("flash (" + e.kind + ") while making room: " + e.message))
            return false
        }
        if (!gap) return false
        console.log(
            backlogLine(
                "full: dropped blocks " +
                    gap.firstLostSeq +
                    ".." +
                    (gap.firstLostSeq + gap.lostBlocks - 1) +
                    " (" +
                    gap.lostReadings +
                    " readings), sealing a gap record"
            )
        )
        for (const b of ledger.sealGap(gap, o.now())) queue.push(b)
        return true
    }

    const flush = async () => {
        // Bounded: a flash that keeps refusing writes gets a few drops per block, not a loop.
        let drops = 0
        while (queue.length > 0) {
            const block = queue[0]
            try {
                await store.commit(block.bytes, block.seq)
            } catch (e) {
                if (!(e instanceof StorageError)) throw e
                if (e.kind === "full" && drops++ < 4 && (await makeRoom())) continue
                console.log(errorLine("flash (" + e.kind + "): " + e.message + "; " + queue.length + " sealed blocks wait in RAM"))
                return
            }
            queue.shift()
            await o.onSealed(block)
            if (store.backlogBlocks() > o.maxBacklogBlocks) await makeRoom()
        }
    }

    /**
     * Takes blocks in seal order. All the blocks one call of the ledger sealed must come in one
     * call: a drop while committing the first seals a gap record after the last.
     */
    const submit = async (blocks: readonly SealedBlock[]) => {
        for (const b of blocks) queue.push(b)
        await exclusive(flush)
    }

    /**
     * Whether to take the reading due at `time`. In stop-sampling mode with a full backlog the
     * answer is no, and the slot is counted; the first reading after room returns is preceded
     * by the gap record that declares the readings not taken.
     */
    const shouldSample = async (time: BlockTime): Promise<boolean> => {
        if (!stopMode) return true
        if (store.backlogBlocks() >= o.maxBacklogBlocks) {
            if (notTaken === 0) {
                stoppedAt = time
                console.log(backlogLine("full: sampling stopped until a gateway takes blocks"))
            }
            notTaken++
            return false
        }
        if (notTaken > 0) {
            const gap = { reason: GAP_SAMPLING_STOPPED, lostReadings: notTaken, lostBlocks: 0, firstLostSeq: 0, from: stoppedAt }
            notTaken = 0
            await submit(ledger.sealGap(gap, stoppedAt))
        }
        return true
    }

    const afterReading = async (openReadings: number) => {
        if (openReadings > 0 && openReadings % o.checkpointEvery === 0 && queue.length === 0)
            await exclusive(async () => await store.checkpoint(ledger.openContent()))
    }

    /**
     * A gateway holds every block up to `seq`: forget them, then commit what waited in RAM
     * for their slots.
     */
    const acknowledge = async (seq: number) => {
        await exclusive(async () => {
            await store.acknowledge(seq)
            await flush()
        })
    }

    return { submit, afterReading, shouldSample, acknowledge, pending: () => queue.length }
}
