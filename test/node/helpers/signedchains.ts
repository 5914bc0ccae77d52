/**
 * v2 chains with signed checkpoints, sealed with the shared codec and signed by node:crypto:
 * the device's signing sequence (docs/FORMAT.md, "Checkpoint body") written out for tests.
 */
import { copyBytes } from "../../../src/lib/codec/bytes"
import {
    BlockTime,
    GAP_BACKLOG_FULL,
    RECORD_CHECKPOINT,
    RECORD_DATA,
    RECORD_GAP,
    RECORD_GENESIS,
    TAG_BYTES,
} from "../../../src/lib/codec/format"
import { ReadingsBuilder } from "../../../src/lib/codec/readings"
import { ChainHead, decodeBlock, encodeContent, newChainHead, sealBlock, SealedBlock } from "../../../src/lib/ledger/chain"
import { blockHash, blockTag, deriveEpochKey, LedgerCrypto } from "../../../src/lib/ledger/keys"
import { signedCheckpointMessage } from "../../../src/lib/ledger/signedcheckpoint"
import { nextSigningSeed, publicKeyOf, signWithSeed } from "../../../tools/lib/ed25519"
import { CHANNELS, DEVICE_ID, testKey } from "./chains"

export const TEST_SEED0 = Buffer.alloc(32, 0x5e)

/** Seals signed checkpoint `keyIndex` under `seed` (seed_keyIndex) at the head; returns the next head and seed. */
export function sealSignedCheckpoint(
    crypto: LedgerCrypto,
    deviceId: Buffer,
    head: ChainHead,
    time: BlockTime,
    keyIndex: number,
    seed: Buffer
): { block: SealedBlock; next: ChainHead; nextSeed: Buffer } {
    const nextSeed = nextSigningSeed(seed)
    const nextPublicKey = publicKeyOf(nextSeed)
    const unsigned = encodeContent(head, { type: RECORD_CHECKPOINT, time, intervalMs: 1000, checkpoint: { keyIndex, nextPublicKey } })
    const signature = signWithSeed(seed, signedCheckpointMessage(deviceId, head.link, unsigned))
    const sealed = sealBlock(crypto, deviceId, head, {
        type: RECORD_CHECKPOINT,
        time,
        intervalMs: 1000,
        checkpoint: { keyIndex, nextPublicKey, signature },
    })
    return { ...sealed, nextSeed }
}

export interface SignedChain {
    blocks: SealedBlock[]
    key0: Buffer
    publicKey0: Buffer
    /** Seqs of the signed checkpoints, in order (keyIndex = position). */
    checkpointSeqs: number[]
}

/**
 * Genesis, then `dataBlocks` data blocks of 3 readings, a signed checkpoint after every
 * `signEvery` data blocks; the blocks after the last checkpoint are the unsigned tail.
 */
export function buildSignedChain(
    crypto: LedgerCrypto,
    o: { dataBlocks?: number; signEvery?: number; key0?: Buffer; seed0?: Buffer; deviceId?: Buffer } = {}
): SignedChain {
    const deviceId = o.deviceId ?? DEVICE_ID
    const key0 = o.key0 ?? testKey()
    let seed: Buffer = o.seed0 ?? TEST_SEED0
    const publicKey0 = publicKeyOf(seed)
    let head = newChainHead(Buffer.from(key0))
    const blocks: SealedBlock[] = []
    const checkpointSeqs: number[] = []
    let uptimeMs = 0
    const push = (s: { block: SealedBlock; next: ChainHead }) => {
        blocks.push(s.block)
        head = s.next
    }
    push(
        sealBlock(crypto, deviceId, head, {
            type: RECORD_GENESIS,
            time: { boot: 0, uptimeMs },
            intervalMs: 1000,
            genesis: { deviceId, firmware: "test/1", board: "sim", channels: CHANNELS },
        })
    )
    const count = o.dataBlocks ?? 7
    const every = o.signEvery ?? 3
    for (let b = 1; b <= count; b++) {
        const readings = new ReadingsBuilder(CHANNELS.length, 2)
        uptimeMs += 1000
        const time = { boot: 0, uptimeMs }
        for (let i = 0; i < 3; i++) readings.add([2100 + b * 3 + i, 4500 - b])
        uptimeMs += 2000
        push(sealBlock(crypto, deviceId, head, { type: RECORD_DATA, time, intervalMs: 1000, readings }))
        if (b % every === 0) {
            const s = sealSignedCheckpoint(crypto, deviceId, head, { boot: 0, uptimeMs }, checkpointSeqs.length, seed)
            checkpointSeqs.push(s.block.seq)
            push(s)
            seed = s.nextSeed
        }
    }
    return { blocks, key0, publicKey0, checkpointSeqs }
}

/** The v2 hashes of an exported chain (block i's hash at i), from the genesis link forward. */
export function chainHashes(crypto: LedgerCrypto, blocks: Buffer[]): Buffer[] {
    let link = decodeBlock(blocks[0]).header.link
    return blocks.map(b => (link = blockHash(crypto, link, b)))
}

/**
 * What whoever holds K_0 (the gateway) can do: replace block `at` by `content` (unsealed) and
 * re-seal every block from there, new tags under each K_seq and new hashes, so that the whole
 * chain verifies under K_0.
 */
export function resealWithKey0(
    crypto: LedgerCrypto,
    blocks: Buffer[],
    at: number,
    content: Buffer,
    key0: Buffer,
    deviceId = DEVICE_ID
): Buffer[] {
    const out = blocks.slice(0, at)
    let link = at === 0 ? undefined : chainHashes(crypto, blocks)[at - 1]
    for (let i = at; i < blocks.length; i++) {
        const c = i === at ? content : copyBytes(blocks[i], 0, blocks[i].length - TAG_BYTES)
        const seq = decodeBlock(blocks[i]).header.seq
        const sealed = Buffer.concat([c, blockTag(crypto, deriveEpochKey(crypto, key0, deviceId, seq), deviceId, c, link)])
        out.push(sealed)
        link = blockHash(crypto, link, sealed)
    }
    return out
}

/** Data block `at` with its first reading's first value raised by one, as unsealed content (same seq, time and link). */
export function alteredDataContent(crypto: LedgerCrypto, blocks: Buffer[], at: number): Buffer {
    const d = decodeBlock(blocks[at])
    if (d.header.type !== RECORD_DATA) throw new RangeError("block " + at + " is not a data block")
    const readings = new ReadingsBuilder(d.readings[0].length, 2)
    d.readings.forEach((r, i) => readings.add(i === 0 ? [r[0] + 1, ...r.slice(1)] : r))
    const head = { seq: d.header.seq, link: chainHashes(crypto, blocks)[at - 1], key: Buffer.alloc(32) }
    return encodeContent(head, { type: RECORD_DATA, time: d.header.time, intervalMs: d.header.intervalMs, readings })
}

/**
 * A chain whose device dropped blocks 4..5 from a full backlog, signed checkpoint 1 (seq 4) among
 * them, and declared them in gap record 6: genesis 0, data 1, checkpoint 0 (seq 2), data 3,
 * [checkpoint 1 (seq 4), data 5 dropped], gap 6, checkpoint 2 (seq 7). `sealed` holds every block
 * sealed, the dropped ones too; `exported` the blocks a gateway or an export holds.
 */
export function droppedCheckpointChain(crypto: LedgerCrypto): { sealed: SealedBlock[]; exported: Buffer[]; key0: Buffer } {
    const key0 = testKey()
    let head = newChainHead(Buffer.from(key0))
    const sealed: SealedBlock[] = []
    const push = (s: { block: SealedBlock; next: typeof head }) => {
        sealed.push(s.block)
        head = s.next
    }
    const data = (uptimeMs: number) => {
        const readings = new ReadingsBuilder(CHANNELS.length, 2)
        readings.add([2100, 4500])
        push(sealBlock(crypto, DEVICE_ID, head, { type: RECORD_DATA, time: { boot: 0, uptimeMs }, intervalMs: 1000, readings }))
    }
    push(
        sealBlock(crypto, DEVICE_ID, head, {
            type: 0,
            time: { boot: 0, uptimeMs: 0 },
            intervalMs: 1000,
            genesis: { deviceId: DEVICE_ID, firmware: "test/1", board: "sim", channels: CHANNELS },
        })
    )
    data(1000) // 1
    let seed: Buffer = TEST_SEED0
    let cp = sealSignedCheckpoint(crypto, DEVICE_ID, head, { boot: 0, uptimeMs: 1500 }, 0, seed) // 2
    push(cp)
    seed = cp.nextSeed
    data(2000) // 3
    cp = sealSignedCheckpoint(crypto, DEVICE_ID, head, { boot: 0, uptimeMs: 2500 }, 1, seed) // 4: dropped
    push(cp)
    seed = cp.nextSeed
    data(3000) // 5: dropped
    push(
        sealBlock(crypto, DEVICE_ID, head, {
            type: RECORD_GAP,
            time: { boot: 0, uptimeMs: 3500 },
            intervalMs: 1000,
            gap: {
                reason: GAP_BACKLOG_FULL,
                lostReadings: 1,
                lostBlocks: 2,
                firstLostSeq: 4,
                lastLostHash: sealed[5].hash,
                from: { boot: 0, uptimeMs: 2500 },
            },
        })
    ) // 6
    cp = sealSignedCheckpoint(crypto, DEVICE_ID, head, { boot: 0, uptimeMs: 4000 }, 2, seed) // 7
    push(cp)
    return { sealed, exported: sealed.filter(b => b.seq !== 4 && b.seq !== 5).map(b => b.bytes), key0 }
}
