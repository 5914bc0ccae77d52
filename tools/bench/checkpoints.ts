/**
 * Verifying signed checkpoints on the host (node:crypto's Ed25519, one core: this thread).
 * A chain of signed checkpoints, each after one data block, sealed and signed before any
 * timing; then the shared checker (signedverify.ts: rebuild M, verify under the certified key,
 * take the next key) runs over every checkpoint, decoded beforehand, for at least a second.
 * Figure: verifyCheckpointsPerSec. Also, for context, the whole public verification of the
 * chain (verifyChain with pk_0 and no K_0: decode, hashes, signatures) in blocks per second.
 */
import { RECORD_CHECKPOINT, RECORD_DATA, RECORD_GENESIS } from "../../src/lib/codec/format"
import { ReadingsBuilder } from "../../src/lib/codec/readings"
import { ChainHead, decodeBlock, DecodedBlock, encodeContent, newChainHead, sealBlock } from "../../src/lib/ledger/chain"
import { signedCheckpointMessage } from "../../src/lib/ledger/signedcheckpoint"
import { checkSigned, initialSigningState } from "../../src/lib/ledger/signedverify"
import { verifyChain } from "../../src/lib/ledger/verify"
import { nodeCrypto } from "../lib/crypto"
import { nextSigningSeed, publicKeyOf, signWithSeed, verifyEd25519 } from "../lib/ed25519"
import type { BenchSection } from "./section"

const DEVICE_ID = Buffer.from("be4c00000000c0c0", "hex")
const CHANNELS = [{ name: "temperature", unit: "degC", exponent: -2 }]

function signedChain(checkpoints: number) {
    let head: ChainHead = newChainHead(Buffer.alloc(32, 0x42))
    let seed: Buffer = Buffer.alloc(32, 0x24)
    const publicKey0 = publicKeyOf(seed)
    const blocks: Buffer[] = []
    let uptimeMs = 0
    const seal = (content: Parameters<typeof sealBlock>[3]) => {
        const s = sealBlock(nodeCrypto, DEVICE_ID, head, content)
        blocks.push(s.block.bytes)
        head = s.next
    }
    const genesis = { deviceId: DEVICE_ID, firmware: "bench", board: "sim", channels: CHANNELS }
    seal({ type: RECORD_GENESIS, time: { boot: 0, uptimeMs }, intervalMs: 1000, genesis })
    for (let i = 0; i < checkpoints; i++) {
        const readings = new ReadingsBuilder(1, 2)
        for (let r = 0; r < 60; r++) readings.add([2000 + (r % 7)])
        seal({ type: RECORD_DATA, time: { boot: 0, uptimeMs: (uptimeMs += 1000) }, intervalMs: 1000, readings })
        uptimeMs += 60000
        const nextSeed = nextSigningSeed(seed)
        const checkpoint = { keyIndex: i, nextPublicKey: publicKeyOf(nextSeed) }
        const time = { boot: 0, uptimeMs }
        const unsigned = encodeContent(head, { type: RECORD_CHECKPOINT, time, intervalMs: 1000, checkpoint })
        const signature = signWithSeed(seed, signedCheckpointMessage(DEVICE_ID, head.link, unsigned))
        seal({ type: RECORD_CHECKPOINT, time, intervalMs: 1000, checkpoint: { ...checkpoint, signature } })
        seed = nextSeed
    }
    return { blocks, publicKey0 }
}

/** Runs `work` (which does `per` units) until a second has passed; units per second. */
function rate(per: number, work: () => void): number {
    let units = 0
    const start = process.hrtime.bigint()
    let ns = 0n
    while (ns < 1_000_000_000n) {
        work()
        units += per
        ns = process.hrtime.bigint() - start
    }
    return units / (Number(ns) / 1e9)
}

export const checkpoints: BenchSection = {
    name: "checkpoints",
    description: "signed checkpoints verified on the host (node:crypto Ed25519, one core)",
    async run(options) {
        const count = options.quick ? 100 : 500
        const { blocks, publicKey0 } = signedChain(count)
        // The checkpoints with the link each was signed over, decoded before any timing.
        const items: { block: DecodedBlock; link: Buffer }[] = []
        let link = decodeBlock(blocks[0]).header.link
        for (const bytes of blocks) {
            const block = decodeBlock(bytes)
            if (block.header.type === RECORD_CHECKPOINT) items.push({ block, link })
            link = nodeCrypto.sha256(Buffer.concat([link, bytes]))
        }
        const perSec = rate(items.length, () => {
            let state = initialSigningState(publicKey0)
            for (const { block, link } of items) {
                const r = checkSigned(verifyEd25519, DEVICE_ID, state, block, link, false)
                if (!r.ok) throw new Error("bench chain: " + r.reason)
                state = r.state
            }
        })
        const chainBlocksPerSec = rate(blocks.length, () => {
            const report = verifyChain(nodeCrypto, blocks, { deviceId: DEVICE_ID, publicKey0, verifySignature: verifyEd25519 })
            if (!report.ok || report.summary.signed.checkpoints !== count) throw new Error("bench chain does not verify")
        })
        return {
            lines: [
                "signed checkpoints verified            " +
                    Math.round(perSec).toLocaleString("en") +
                    " /s (" +
                    count +
                    " in a chain, pk_0 only)",
                "public verification of the whole chain " +
                    Math.round(chainBlocksPerSec).toLocaleString("en") +
                    " blocks/s (a checkpoint after each 60-reading block)",
            ],
            figures: { verifyCheckpointsPerSec: Math.round(perSec) },
        }
    },
}
