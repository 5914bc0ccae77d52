/**
 * One device's data keys from the owner's D_0 (docs/FORMAT.md, "Encrypted readings"), for the
 * two places that decrypt a chain: `verify --data-key` (tools/lib/decryptchain.ts) and the
 * dashboard in the browser (tools/dashboard/browser/decrypt.ts; no Node import here). D_seq is
 * reached by evolving forward from the newest key reached (blocks come in seq order), and by
 * starting again from D_0 to go back.
 */
import { evolveDataKey } from "../../src/lib/ledger/datakey"
import type { LedgerCrypto } from "../../src/lib/ledger/keys"

export class DataKeyChain {
    private key: Buffer
    private keySeq = 0

    constructor(
        private readonly crypto: LedgerCrypto,
        readonly deviceId: Buffer,
        private readonly key0: Buffer
    ) {
        this.key = key0
    }

    /** D_seq. */
    keyAt(seq: number): Buffer {
        if (seq < this.keySeq) {
            this.key = this.key0
            this.keySeq = 0
        }
        while (this.keySeq < seq) this.key = evolveDataKey(this.crypto, this.key, this.deviceId, this.keySeq++)
        return this.key
    }
}
