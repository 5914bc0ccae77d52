/**
 * Epoch keys of one device, in memory only. Deriving K_seq from K_0 costs seq HMACs (about 6 us
 * each here), and anyone can post a block claiming any seq up to MAX_JUMP_PER_BATCH past the
 * head, or a forged one below it: so the keys met on the way are kept every INTERVAL seqs (a
 * grid at fixed absolute seqs, the same keys whichever request derived them), and any K_seq
 * the grid covers is at most INTERVAL - 1 steps (about 1.5 ms) from a kept one.
 *
 * Extending the grid over a long distance (the first walk to the head of a long chain, a jump
 * claimed far past it) is done by `reach`, in slices of at most INTERVAL steps that each wait
 * for their turn on one queue shared by every device: one slice per event loop turn, so other
 * requests are served in between, and one extension per device at a time, so concurrent claims
 * on one device wait for the same walk instead of repeating it. Each grid key is derived once
 * per process, so an attacker can make the gateway derive each seq of a device once, never
 * again per request. docs/SECURITY.md says why keeping these keys costs no forward security.
 */
import { MAX_SEQ } from "../../src/lib/codec/format"
import { evolveKey, LedgerCrypto } from "../../src/lib/ledger/keys"

/** Seqs between kept keys: at most this many HMACs stand between a request and any K_seq. */
export const KEY_GRID_INTERVAL = 256
const KEY_BYTES = 32

/** One queue of derivation slices for the whole process: one slice per event loop turn. */
let lastTurn: Promise<void> = Promise.resolve()

/** Resolves on a later event loop turn than the previous caller's (after pending I/O). */
function nextTurn(): Promise<void> {
    const turn = lastTurn.then(() => new Promise<void>(resolve => setImmediate(resolve)))
    lastTurn = turn
    return turn
}

export class EpochKeyCache {
    /** K_(i * INTERVAL) at bytes [32 i, 32 i + 32), for i < count; filled from 0 upwards. */
    private grid = Buffer.alloc(KEY_BYTES * 16)
    private count = 0
    /** The extension running or queued for this device (one at a time). */
    private job: Promise<void> = Promise.resolve()

    constructor(
        private readonly crypto: LedgerCrypto,
        private readonly deviceId: Buffer,
        key0: Buffer
    ) {
        this.keep(Buffer.from(key0))
    }

    /** How many grid keys are kept (K_0 included): the grid covers seqs below count * INTERVAL. */
    get kept(): number {
        return this.count
    }

    /** K_seq, now: at most INTERVAL - 1 HMACs when `reach(seq)` has completed, else up to seq. */
    keyAt(seq: number): Buffer {
        checkSeq(seq)
        const wanted = Math.floor(seq / KEY_GRID_INTERVAL)
        const index = Math.min(wanted, this.count - 1)
        let key = this.gridKey(index)
        for (let n = index * KEY_GRID_INTERVAL; n < seq; n++) {
            key = evolveKey(this.crypto, key, this.deviceId, n)
            if ((n + 1) % KEY_GRID_INTERVAL === 0 && (n + 1) / KEY_GRID_INTERVAL === this.count) this.keep(key)
        }
        return key
    }

    /** Extends the grid to cover `seq`, a slice per turn (see above); resolves when it does. */
    reach(seq: number): Promise<void> {
        checkSeq(seq)
        const target = Math.floor(seq / KEY_GRID_INTERVAL)
        if (target < this.count) return Promise.resolve()
        const run = this.job.then(() => this.extendTo(target))
        this.job = run.catch(() => {})
        return run
    }

    private async extendTo(target: number) {
        while (this.count <= target) {
            await nextTurn()
            // One slice: the next grid key from the last (keyAt may have added some meanwhile).
            const index = this.count - 1
            let key = this.gridKey(index)
            const from = index * KEY_GRID_INTERVAL
            for (let n = from; n < from + KEY_GRID_INTERVAL; n++) key = evolveKey(this.crypto, key, this.deviceId, n)
            if (this.count === index + 1) this.keep(key)
        }
    }

    private gridKey(index: number): Buffer {
        return Buffer.from(this.grid.subarray(index * KEY_BYTES, (index + 1) * KEY_BYTES))
    }

    private keep(key: Buffer) {
        if ((this.count + 1) * KEY_BYTES > this.grid.length) {
            const larger = Buffer.alloc(this.grid.length * 2)
            this.grid.copy(larger)
            this.grid = larger
        }
        key.copy(this.grid, this.count * KEY_BYTES)
        this.count++
    }
}

function checkSeq(seq: number) {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ) throw new RangeError("seq must be a whole number in 0.." + MAX_SEQ)
}
