/**
 * One round of store-and-forward (docs/API.md, "Sync"): post the backlog oldest-first as one
 * batch, check the gateway's signed ack, and forget what the gateway holds. Pure (the transport,
 * the random nonce and the acknowledgement come in as functions), so the Node tests run it
 * against the real gateway in process and the firmware runs it over its own HTTP client.
 *
 * Nothing is forgotten on the gateway's word alone: the ack must carry a valid tag over this
 * batch's nonce, and the hash it names must be the device's own block at that seq.
 */
import { constantTimeEqual, toHex } from "../codec/bytes"
import { ChainStore } from "../store/chainstore"
import { ACK_KEY_SETTING } from "../flash/keys"
import { KeyValueStore, writeVerified } from "../flash/verified"
import { KEY_BYTES } from "../codec/format"
import { LedgerCrypto } from "../ledger/keys"
import { Ack, batchBytes, BATCH_NONCE_BYTES, encodeBatch, MAX_BATCH_BYTES, readSignedAck } from "./syncwire"

export interface SyncReply {
    status: number
    body: string
}

export interface SyncRoundOptions {
    store: ChainStore
    crypto: LedgerCrypto
    deviceId: Buffer
    ackKey: Buffer
    /** Posts a batch body; `backlog` is what the device holds (informational, for the gateway's status). Throws on network failure. */
    post(body: Buffer, backlog: number): Promise<SyncReply>
    /** BATCH_NONCE_BYTES fresh random bytes. */
    nonce(): Buffer
    /** Forgets blocks up to `seq` (serialized with the flash writes of sealing). */
    acknowledge(seq: number): Promise<void>
    maxBatchBytes?: number
}

export interface SyncResult {
    /** idle: nothing to send; synced: the gateway took the batch; rejected: it answered with an error; failed: no usable answer. */
    outcome: "idle" | "synced" | "rejected" | "failed"
    /** Blocks in the batch sent. */
    sent: number
    /** The verified ack, if the reply carried one. */
    ack?: Ack
    status?: number
    /** The gateway's error code, or what went wrong. */
    error?: string
    /** Blocks remain that this batch did not carry: sync again soon. */
    more: boolean
}

/** The backlog's blocks, oldest first, as many as fit `maxBytes`; stops at the first one flash no longer holds. */
export async function readBacklogBatch(store: ChainStore, maxBytes: number): Promise<{ blocks: Buffer[]; lastSeq: number }> {
    const head = store.currentHead()
    const blocks: Buffer[] = []
    let lastSeq = -1
    for (let seq = head.oldestSeq; seq < head.seq; seq++) {
        if (head.loss && seq >= head.loss.fromSeq && seq <= head.loss.toSeq) continue
        const bytes = await store.readBlock(seq)
        // A slot reused while we read (the backlog moved on): send the contiguous part.
        if (!bytes) break
        if (batchBytes(blocks) + 1 + bytes.length > maxBytes) break
        blocks.push(bytes)
        lastSeq = seq
    }
    return { blocks, lastSeq }
}

/** Whether `ack` names this device's own chain: the hash at its seq must be ours where we still know it. */
async function ackMatchesChain(o: SyncRoundOptions, ack: Ack): Promise<string | undefined> {
    const head = o.store.currentHead()
    if (ack.ack >= head.seq) return "the gateway acknowledges seq " + ack.ack + ", which this device has not sealed"
    if (ack.ack < 0) return undefined
    // The store hashes its backlog forward from what it knows (a v2 block's hash covers its link).
    const ours = await o.store.blockHash(ack.ack)
    if (ours && !constantTimeEqual(ours, ack.head))
        return "the gateway's block " + ack.ack + " is not this device's (hash " + toHex(ack.head).slice(0, 16) + "): a fork"
    return undefined
}

export async function syncRound(o: SyncRoundOptions): Promise<SyncResult> {
    const maxBytes = o.maxBatchBytes || MAX_BATCH_BYTES
    const backlog = o.store.backlogBlocks()
    const { blocks, lastSeq } = await readBacklogBatch(o.store, maxBytes)
    if (blocks.length === 0) return { outcome: "idle", sent: 0, more: false }
    const nonce = o.nonce()
    if (!nonce || nonce.length !== BATCH_NONCE_BYTES) throw new RangeError("nonce() must give " + BATCH_NONCE_BYTES + " bytes")

    let reply: SyncReply
    try {
        reply = await o.post(encodeBatch(nonce, blocks), backlog)
    } catch (e) {
        return { outcome: "failed", sent: blocks.length, error: "network: " + (e as Error).message, more: true }
    }
    let doc: any = undefined
    try {
        doc = JSON.parse(reply.body)
    } catch (e) {
        doc = undefined
    }
    const errorCode = doc && typeof doc.error === "string" ? doc.error.slice(0, 40) : undefined
    const ack = readSignedAck(o.crypto, o.ackKey, o.deviceId, nonce, doc)
    if (!ack) {
        const why = errorCode ? "gateway error " + errorCode : "reply without a valid signed ack"
        return { outcome: "failed", sent: blocks.length, status: reply.status, error: why, more: true }
    }
    const mismatch = await ackMatchesChain(o, ack)
    if (mismatch) return { outcome: "rejected", sent: blocks.length, status: reply.status, error: mismatch, more: true }
    await o.acknowledge(ack.ack)
    const ok = reply.status >= 200 && reply.status < 300
    const head = o.store.currentHead()
    return {
        outcome: ok ? "synced" : "rejected",
        sent: blocks.length,
        ack,
        status: reply.status,
        error: ok ? undefined : errorCode || "status " + reply.status,
        more: ok && ack.ack >= lastSeq && lastSeq < head.seq - 1,
    }
}

/** Stores K_ack (written with the chain's genesis, from K_0) and proves flash kept it. */
export async function saveAckKey(kv: KeyValueStore, ackKey: Buffer) {
    await writeVerified(kv, ACK_KEY_SETTING, ackKey)
}

export async function loadAckKey(kv: KeyValueStore): Promise<Buffer | undefined> {
    const key = await kv.get(ACK_KEY_SETTING)
    return key && key.length === KEY_BYTES ? key : undefined
}
