/**
 * A device's boot and backlog as the store and sync tests run them: openChain
 * (src/lib/store/recovery.ts) and startBacklog (src/lib/store/backlog.ts) with what those tests
 * do not vary fixed: firmware "fw" on board "test", timer pauses, no seal hooks.
 */
import { startBacklog } from "../../../src/lib/store/backlog"
import { ChainStore } from "../../../src/lib/store/chainstore"
import { openChain, OpenChainOptions, OpenedChain } from "../../../src/lib/store/recovery"
import { timerPause } from "../../../tools/lib/pause"

/** openChain on `o.store`, K_0 from `key` when flash holds none, the boot `uptimeMs` old (0 unless given). */
export function openTestChain(
    o: Pick<OpenChainOptions, "store" | "crypto" | "deviceId" | "channels" | "ledger" | "checkpointEvery"> & {
        key: () => Buffer
        uptimeMs?: number
    }
): Promise<OpenedChain> {
    const uptimeMs = o.uptimeMs ?? 0
    return openChain({
        store: o.store,
        crypto: o.crypto,
        deviceId: o.deviceId,
        channels: o.channels,
        ledger: o.ledger,
        firmwareVersion: "fw",
        board: "test",
        checkpointEvery: o.checkpointEvery,
        newKey: async () => o.key(),
        uptimeMs: () => uptimeMs,
        onSealed: async () => {},
    })
}

/**
 * The backlog over an opened chain, and `take`: a reading at `uptimeMs` of this boot, appended and
 * its sealed blocks submitted, the backlog's clock moved there first.
 */
export function startTestBacklog(store: ChainStore, opened: OpenedChain, o: { maxBacklogBlocks: number; checkpointEvery: number }) {
    let uptimeMs = 1000
    const backlog = startBacklog({
        pause: timerPause,
        store,
        ledger: opened.ledger,
        maxBacklogBlocks: o.maxBacklogBlocks,
        checkpointEvery: o.checkpointEvery,
        now: () => ({ boot: opened.boot, uptimeMs }),
        onSealed: async () => {},
    })
    const take = (values: number[], at: number) => {
        uptimeMs = at
        return backlog.submit(opened.ledger.append(values, { boot: opened.boot, uptimeMs }))
    }
    return { backlog, take }
}
