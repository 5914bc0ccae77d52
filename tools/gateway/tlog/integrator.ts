/**
 * The integrator: turns committed leaves into tiles and signs checkpoints (logstore.ts has the
 * design). It reads only committed rows, writes each batch of tiles with a compare-and-set on
 * the integrated size (so two gateways integrating at once never interleave), and stores a
 * checkpoint before anyone is shown it. The root is recomputed from the stored tiles, which are a
 * pure function of the committed leaves: after a crash the same size gets the same root, and
 * a size already signed is taken from the store, never signed again.
 */
import { leafHash, treeRoot } from "../../lib/tlog/merkle"
import { signCheckpoint } from "../../lib/tlog/checkpoint"
import type { NoteSigner } from "../../lib/tlog/note"
import { integrateTiles, partialTiles, perfectFromTiles, tilesNeeded } from "../../lib/tlog/tiles"
import { LogStore, StoredCheckpoint, tileMapKey } from "./logstore"

/** Leaves integrated per step: about 65,536 x 32 B of hashes in memory, and tiles written in one transaction each. */
export const INTEGRATE_STEP_LEAVES = 65536
/** How often the gateway integrates and signs when leaves arrived (the default). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000

export class LogIntegrityError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "LogIntegrityError"
    }
}

export interface IntegratorOptions {
    store: LogStore
    signer: NoteSigner
    /** The checkpoint origin (the signer's key name). */
    origin: string
    /** Unix milliseconds (tests fix it). */
    now?: () => number
}

export class LogIntegrator {
    private readonly now: () => number
    private running: Promise<StoredCheckpoint> | undefined

    constructor(private readonly o: IntegratorOptions) {
        this.now = o.now ?? Date.now
    }

    /** Integrates at most `maxLeaves` committed leaves past the integrated size; returns the new integrated size. */
    async step(maxLeaves = INTEGRATE_STEP_LEAVES): Promise<number> {
        const store = this.o.store
        const from = await store.integratedSize()
        const sequenced = await store.sequencedSize()
        if (sequenced <= from) return from
        const entries = await store.readEntries(from, Math.min(sequenced, from + maxLeaves))
        if (entries.length === 0) return from
        const partial = await store.readTiles(partialTiles(from))
        const byLevel = new Map<number, Buffer>()
        for (const k of partialTiles(from)) {
            const t = partial.get(tileMapKey(k))
            if (!t)
                throw new LogIntegrityError("the partial tile " + tileMapKey(k) + " of the integrated tree of size " + from + " is missing")
            byLevel.set(k.level, t)
        }
        const writes = integrateTiles(
            from,
            entries.map(e => leafHash(e)),
            level => byLevel.get(level)
        )
        const to = from + entries.length
        // Another integrator moved on first: its tiles are the same function of the same rows.
        if (!(await store.putTiles(from, to, writes))) return store.integratedSize()
        return to
    }

    /** Integrates everything committed (in steps, yielding between them). */
    async integrate(onProgress?: (size: number, of: number) => void): Promise<number> {
        for (;;) {
            const before = await this.o.store.integratedSize()
            const after = await this.step()
            onProgress?.(after, await this.o.store.sequencedSize())
            if (after === before) return after
            await new Promise(resolve => setImmediate(resolve))
        }
    }

    /** The root of the integrated tree of `size` leaves, from the stored tiles. */
    async root(size: number): Promise<Buffer> {
        const tiles = await this.o.store.readTiles(tilesNeeded(p => treeRoot(p, size)))
        return treeRoot(
            perfectFromTiles(k => tiles.get(tileMapKey(k))),
            size
        )
    }

    /**
     * Integrates what is committed and, when the tree grew past the latest checkpoint (or none
     * exists), signs and stores a checkpoint of the integrated size. Returns the latest
     * checkpoint. One call at a time: a second caller waits for the running one.
     */
    async checkpoint(): Promise<StoredCheckpoint> {
        if (this.running) return this.running
        this.running = this.checkpointOnce().finally(() => (this.running = undefined))
        return this.running
    }

    private async checkpointOnce(): Promise<StoredCheckpoint> {
        const store = this.o.store
        const size = await this.integrate()
        const latest = await store.latestCheckpoint()
        if (latest && latest.size > size)
            throw new LogIntegrityError(
                "a checkpoint of size " +
                    latest.size +
                    " is stored, beyond the integrated tree (" +
                    size +
                    "): the log's tables were altered"
            )
        const root = await this.root(size)
        const signed = await store.checkpointAt(size)
        if (signed) {
            // Signed before (this run, an earlier one, another gateway): the same root, never a second one.
            if (!signed.root.equals(root))
                throw new LogIntegrityError(
                    "the tree of size " + size + " has another root than the checkpoint signed for it: the log's tables were altered"
                )
            return signed
        }
        const c = signCheckpoint(this.o.signer, { origin: this.o.origin, size, root }, Math.floor(this.now() / 1000))
        const stored = await store.putCheckpoint({ size, root, time: c.time, note: c.note })
        if (!stored.root.equals(root)) throw new LogIntegrityError("another writer signed tree size " + size + " with another root")
        return stored
    }

    /**
     * Signs a checkpoint every `intervalMs` while leaves arrive (nothing is signed when the tree
     * did not grow). Returns a stop function that waits for a running step to end.
     */
    start(intervalMs: number, onError: (e: unknown) => void): () => Promise<void> {
        let lastSize = -1
        let stopped = false
        const tick = async () => {
            try {
                const sequenced = await this.o.store.sequencedSize()
                if (sequenced !== lastSize) lastSize = (await this.checkpoint()).size
            } catch (e) {
                onError(e)
            }
        }
        const timer = setInterval(() => {
            if (!stopped) void tick()
        }, intervalMs)
        timer.unref()
        return async () => {
            stopped = true
            clearInterval(timer)
            await this.running?.catch((): undefined => undefined)
        }
    }
}
