/**
 * Checks a device's chain block by block as the device shows it (its `fl:block` lines), with
 * the gateway's incremental verifier (src/lib/ledger/verify.ts, ChainVerifier): each new block
 * costs one check against the state the last one left, never a pass over the whole chain.
 * A genesis block starts a new chain, checked under the key `keyFor` picks for it.
 */
import { constantTimeEqual, FormatError } from "../../src/lib/codec/bytes"
import { decodeBlock, DecodedBlock } from "../../src/lib/ledger/chain"
import { FORMAT_V1 } from "../../src/lib/codec/format"
import { blockHash, LedgerCrypto } from "../../src/lib/ledger/keys"
import { BlockCheck, ChainVerifier, initialVerifierState, MemoryHistory } from "../../src/lib/ledger/verify"

export interface WatchedBlock {
    /** Undefined when the block did not decode. */
    seq?: number
    block?: DecodedBlock
    /** The key it was checked under (undefined: no chain yet). */
    key?: Buffer
    check: BlockCheck
}

export class ChainWatch {
    private verifier: ChainVerifier | undefined
    private history = new MemoryHistory()
    private key: Buffer | undefined

    constructor(
        private readonly crypto: LedgerCrypto,
        private readonly deviceId: Buffer,
        /** The key a chain is checked under, from its genesis block. */
        private readonly keyFor: (genesis: Buffer) => Buffer
    ) {}

    /**
     * Checks a block the device showed: undefined when it is one already accepted (at boot
     * the device shows its stored backlog again), else the outcome. A failed block leaves the
     * state as it was.
     */
    add(bytes: Buffer): WatchedBlock | undefined {
        let block: DecodedBlock
        try {
            block = decodeBlock(bytes)
        } catch (e) {
            if (!(e instanceof FormatError)) throw e
            return { key: this.key, check: { ok: false, code: "malformed", reason: e.message } }
        }
        const seq = block.header.seq
        if (this.alreadyAccepted(seq, block, bytes)) return undefined
        if (seq === 0 || !this.verifier) this.restart(bytes)
        const check = this.verifier!.nextDecoded(block, [bytes], 0)
        return { seq, block, key: this.key!, check }
    }

    /**
     * Whether this very block is the one accepted at its seq: its hash as the chain computed it,
     * which in v2 takes the link in (the hash at seq - 1, or a genesis block's own link).
     */
    private alreadyAccepted(seq: number, block: DecodedBlock, bytes: Buffer): boolean {
        const held = this.history.hashAt(seq)
        if (!held) return false
        const link = seq === 0 ? block.header.link : this.history.hashAt(seq - 1)
        if (!link && bytes[0] !== FORMAT_V1) return false // the block before was dropped: nothing to hash it with
        return constantTimeEqual(held, blockHash(this.crypto, link, bytes))
    }

    private restart(genesis: Buffer) {
        this.key = this.keyFor(genesis)
        this.history = new MemoryHistory()
        this.verifier = new ChainVerifier(this.crypto, this.deviceId, initialVerifierState(this.key), this.history)
    }
}
