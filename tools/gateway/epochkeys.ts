/**
 * Epoch keys of one device for checks below its stored head (a re-sent block that differs from
 * the stored one: a fork or a forgery). Deriving K_seq from K_0 costs seq HMACs, and anyone can
 * post such a block unauthenticated, so the keys met on the way are kept every INTERVAL seqs:
 * after the first walk, any K_seq is at most INTERVAL - 1 steps from a kept one.
 */
import { evolveKey, LedgerCrypto } from "../../src/lib/ledger/keys"

const INTERVAL = 1024

export class EpochKeyCache {
    /** checkpoints[i] = K_(i * INTERVAL); filled from 0 upwards. */
    private readonly checkpoints: Buffer[]

    constructor(
        private readonly crypto: LedgerCrypto,
        private readonly deviceId: Buffer,
        key0: Buffer
    ) {
        this.checkpoints = [key0]
    }

    keyAt(seq: number): Buffer {
        if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError("seq must be a whole number >= 0")
        const wanted = Math.floor(seq / INTERVAL)
        let index = Math.min(wanted, this.checkpoints.length - 1)
        let key = this.checkpoints[index]
        for (let n = index * INTERVAL; n < seq; n++) {
            key = evolveKey(this.crypto, key, this.deviceId, n)
            if ((n + 1) % INTERVAL === 0 && (n + 1) / INTERVAL === this.checkpoints.length) this.checkpoints.push(key)
        }
        return key
    }
}
