/**
 * Signed checkpoints on the device (docs/SIGNING.md): the signing state in flash, the cadence,
 * and the signing itself as a job on its own fiber that yields between bounded steps, so the
 * sampler keeps its time while a checkpoint is signed.
 *
 * Never two released signatures by one key (forward security, power cuts): sign in RAM, seal,
 * store the block (the release: onStored runs right after its commit, inside the backlog's
 * exclusive section, so no ack can prune it first), then advance the state in flash to
 * keyIndex + 1, overwriting seed_keyIndex. A cut between the two leaves the stored checkpoint
 * with the state's keyIndex: openSigner finishes the advance at boot. A signature not stored
 * (a cut, or a block sealed meanwhile) was never released, and the next try signs anew.
 */
import * as ds from "@devicescript/core"
import { randomBuffer } from "@devicescript/crypto"
import { deviceCrypto } from "./crypto"
import { settingsStore } from "./settingsstore"
import { RECORD_CHECKPOINT } from "../lib/codec/format"
import { toHex, wipe } from "../lib/codec/bytes"
import { GENESIS_KEY, SIGN_NOW_SETTING, SIGN_PUBLIC_KEY_SETTING } from "../lib/flash/keys"
import { deleteVerified, writeVerified } from "../lib/flash/verified"
import { decodeBlock, SealedBlock } from "../lib/ledger/chain"
import { blockHash } from "../lib/ledger/keys"
import { errorLine, signKeyLine } from "../lib/log/lines"
import { Ledger } from "../lib/ledger/ledger"
import { signedCheckpointMessage, SignedCheckpoint } from "../lib/ledger/signedcheckpoint"
import { publicKeyOf, signWith } from "../lib/sign/ed25519"
import { ChainStore } from "../lib/store/chainstore"
import { nextSeed, readSigningState, SigningState, writeSigningState } from "../lib/store/signingstate"

/** Between two bounded steps of the signer: a real suspension, which starts a new op budget while the sampler runs. */
const pause = async () => await ds.sleep(0)

async function publicKey(seed: Buffer): Promise<Buffer> {
    return await publicKeyOf(seed, pause)
}

export interface SignerOptions {
    store: ChainStore
    ledger: Ledger
    deviceId: Buffer
    /** A new chain (its genesis sealed this boot): a new seed_0. */
    created: boolean
    /** Blocks between signed checkpoints (FL_SIGN_EVERY). */
    everyBlocks: number
    /** Longest uptime between signed checkpoints, ms (FL_SIGN_HOURS). */
    everyMs: number
    submit(blocks: SealedBlock[]): Promise<void>
}

/**
 * Reads (or, for a new chain or none stored, creates: seed_0 from randomBuffer, then fl_signpk,
 * then the state) the signing state, finishes an advance a power cut interrupted, and returns
 * the signer: `onStored` for every committed block, `start` for the signing fiber. Runs after
 * the chain's genesis is stored and before fl_k0 is deleted (provisioning then reads fl_signpk).
 */
export async function openSigner(o: SignerOptions) {
    const kv = settingsStore
    let state: SigningState = o.created ? undefined : await readSigningState(kv)
    if (!state) {
        const seed = randomBuffer(32)
        state = { keyIndex: 0, seed, publicKey: await publicKey(seed) }
        // The genesis hash || pk_0 before the state: a cut between the two writes makes a new
        // state (and pk_0) at the next boot, which rewrites fl_signpk.
        const genesis = await kv.get(GENESIS_KEY)
        const hash = blockHash(deviceCrypto, decodeBlock(genesis).header.link, genesis)
        const pk = Buffer.alloc(64)
        pk.set(hash, 0)
        pk.set(state.publicKey, 32)
        await writeVerified(kv, SIGN_PUBLIC_KEY_SETTING, pk)
        await writeSigningState(kv, state)
    }
    console.log(signKeyLine(state.keyIndex, toHex(state.publicKey)))
    let next: SigningState = undefined // the state after the next checkpoint: seed_(i+1), pk_(i+1)
    let sealed = false // a checkpoint sealed and not yet stored: no other may be signed by this key
    let blocks = 0 // blocks stored since the newest signed checkpoint
    let since = ds.millis()
    let wanted = false
    let asked = false // fl_signnow: seal the open block first, delete the request once stored

    const prepare = async () => {
        if (next) return
        const seed = nextSeed(deviceCrypto, state.seed)
        next = { keyIndex: state.keyIndex + 1, seed, publicKey: await publicKey(seed) }
    }

    const advance = async () => {
        await prepare()
        await writeSigningState(kv, next)
        wipe(state.seed)
        state = next
        next = undefined
        sealed = false
        blocks = 0
        since = ds.millis()
        console.log(signKeyLine(state.keyIndex, toHex(state.publicKey)))
        if (asked) await deleteVerified(kv, SIGN_NOW_SETTING)
        asked = false
    }

    // The backlog, newest first: a stored checkpoint of the state's key index means the advance
    // after it was cut short; the blocks after the newest checkpoint count towards the next.
    const head = o.store.currentHead()
    for (let seq = head.seq - 1; seq >= head.oldestSeq; seq--) {
        const bytes = await o.store.readBlock(seq)
        if (bytes && bytes[1] === RECORD_CHECKPOINT) {
            if (decodeBlock(bytes).checkpoint.keyIndex === state.keyIndex) await advance()
            break
        }
        blocks++
    }

    const signOnce = async () => {
        await prepare()
        const cp: SignedCheckpoint = { keyIndex: state.keyIndex, nextPublicKey: next.publicKey }
        // Asked (the readings so far must be covered), or nothing sealed yet this boot (a
        // checkpoint's time is the end of the block before it): the open block first.
        if (asked || !o.ledger.signedCheckpointContent(cp)) {
            const open = o.ledger.sealOpen()
            if (open) await o.submit([open])
        }
        const at = o.ledger.signedCheckpointContent(cp)
        if (!at) return
        cp.signature = await signWith(state.seed, state.publicKey, signedCheckpointMessage(o.deviceId, at.link, at.content), pause)
        const block = o.ledger.sealSignedCheckpoint(cp, at.time, at.seq)
        if (!block) return // a block was sealed meanwhile: this signature is dropped, never stored
        sealed = true
        wanted = false
        await o.submit([block])
    }

    return {
        /** After each block's commit: a stored checkpoint advances the state; others count. */
        onStored: async (b: SealedBlock) => {
            if (b.type === RECORD_CHECKPOINT) await advance()
            else if (++blocks >= o.everyBlocks) wanted = true
        },
        /** The signing fiber: a checkpoint when due, or when the host asks (fl_signnow, looked for every 2 s). */
        start: () => {
            setTimeout(async () => {
                while (true) {
                    await ds.sleep(2000)
                    if (!sealed && !asked && (await kv.get(SIGN_NOW_SETTING))) asked = true
                    try {
                        if (!sealed && (asked || wanted || (blocks > 0 && ds.millis() - since >= o.everyMs))) await signOnce()
                    } catch (e) {
                        // A flash error: a checkpoint not stored was never released; one stored
                        // without its advance is finished at the next boot (no other is signed till then).
                        console.log(errorLine("signer: " + e))
                    }
                }
            }, 0)
        },
    }
}
