/**
 * Golden vectors of the signed checkpoint record (format v2, record type 3; docs/FORMAT.md,
 * "Checkpoint body"): test/vectors/golden-checkpoint.json and the same data as a typed object
 * literal, test/vectors/golden-checkpoint.ts, that DeviceScript tests can import.
 *
 *     npx tsx tools/gen-checkpoint-vectors.ts           write both files
 *     npx tsx tools/gen-checkpoint-vectors.ts --check   exit 1 if either differs from what it would write
 *
 * An independent encoder: it writes every byte itself from docs/FORMAT.md (varints, the v2
 * header, the genesis, data and checkpoint bodies, tags, hashes, both key evolutions) with
 * node:crypto for SHA-256, HMAC and Ed25519, and imports nothing from src/lib. The Node test
 * (test/node/lib/ledger/checkpointvectors.test.ts) checks the signatures with node:crypto alone,
 * the shared codec's re-seal byte for byte, and the shared verifier's verdict on every case.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, sign } from "node:crypto"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { runGenerator } from "./lib/generated"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..")
const JSON_PATH = "test/vectors/golden-checkpoint.json"
const TS_PATH = "test/vectors/golden-checkpoint.ts"

const HELP = `Usage: npx tsx tools/gen-checkpoint-vectors.ts [--check]

Writes ${JSON_PATH} and ${TS_PATH}; with --check, writes nothing and exits 1 if either is not
what it would write.`

// ---- primitives, from docs/FORMAT.md ----

const hex = (b: Buffer) => b.toString("hex")
const sha256 = (...parts: Buffer[]) => createHash("sha256").update(Buffer.concat(parts)).digest()
const hmac = (key: Buffer, ...parts: Buffer[]) => createHmac("sha256", key).update(Buffer.concat(parts)).digest()

function varint(v: number): Buffer {
    const out: number[] = []
    while (v >= 128) {
        out.push((v % 128) + 128)
        v = Math.floor(v / 128)
    }
    out.push(v)
    return Buffer.from(out)
}

const u8 = (v: number) => Buffer.from([v])
const str = (s: string) => Buffer.concat([u8(Buffer.byteLength(s)), Buffer.from(s)])
const zigzag = (v: number) => (v >= 0 ? 2 * v : -2 * v - 1)

function u32le(n: number): Buffer {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(n)
    return b
}

const TAG_LABEL = Buffer.from("fieldledger/v2/tag")
const EVOLVE_LABEL = Buffer.from("fieldledger/v1/evolve")
const CHECKPOINT_LABEL = Buffer.from("fieldledger/v2/checkpoint")
const SIGN_EVOLVE_LABEL = Buffer.from("fieldledger/v2/sign-evolve")

const epochKeyAfter = (key: Buffer, deviceId: Buffer, seq: number) => hmac(key, EVOLVE_LABEL, deviceId, u32le(seq))
const tagOf = (key: Buffer, deviceId: Buffer, link: Buffer, content: Buffer) =>
    hmac(key, TAG_LABEL, deviceId, link, content).subarray(0, 16)

const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex")
const privateKey = (seed: Buffer) => createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: "der", type: "pkcs8" })
function publicKeyOf(seed: Buffer): Buffer {
    const der = createPublicKey(privateKey(seed)).export({ format: "der", type: "spki" })
    return Buffer.from(der.subarray(der.length - 32))
}
const signEd25519 = (seed: Buffer, message: Buffer) => sign(null, message, privateKey(seed))
const nextSeed = (seed: Buffer) => hmac(seed, SIGN_EVOLVE_LABEL)

interface Time {
    boot: number
    uptimeMs: number
    unixTime?: number
}

const RECORD = { genesis: 0, data: 1, checkpoint: 3 }
const FLAG_UNIX_TIME = 1
const INTERVAL_MS = 1000

function header(type: number, seq: number, time: Time, readingCount: number): Buffer {
    const hasUnix = time.unixTime !== undefined
    return Buffer.concat([
        u8(2),
        u8(type),
        u8(hasUnix ? FLAG_UNIX_TIME : 0),
        varint(seq),
        varint(time.boot),
        varint(time.uptimeMs),
        hasUnix ? varint(time.unixTime) : Buffer.alloc(0),
        varint(INTERVAL_MS),
        varint(readingCount),
    ])
}

// ---- the chain ----

const DEVICE_ID = Buffer.from("12abdd2289421234", "hex")
const KEY0 = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x40 + i))
const SEED0 = Buffer.from(Array.from({ length: 32 }, (_, i) => 0xa0 + i))
/** Another device's seed: what a forger without the device's key would sign with. */
const OTHER_SEED = Buffer.from(Array.from({ length: 32 }, (_, i) => 0xe0 + i))
const CHANNEL = { name: "temperature", unit: "degC", exponent: -2 }

interface CheckpointVector {
    keyIndex: number
    /** seed_keyIndex, the secret that signed (a test vector: on a device it never leaves). */
    seed: string
    /** pk_keyIndex, the key the signature verifies under. */
    publicKey: string
    nextSeed: string
    nextPublicKey: string
    /** The content before the signature: header || keyIndex varint || nextPublicKey. */
    unsigned: string
    /** M = "fieldledger/v2/checkpoint" || deviceId || link || unsigned. */
    message: string
    signature: string
}

interface BlockVector {
    seq: number
    type: string
    note: string
    time: Time
    /** The hash of the block before (a genesis block: the link in its body). */
    link: string
    /** K_seq, the epoch key of its tag. */
    epochKey: string
    tag: string
    block: string
    /** SHA-256(link || block): the next block's link. */
    hash: string
    /** Data blocks: the readings (one channel). */
    readings?: number[]
    checkpoint?: CheckpointVector
}

/** One block's sealing state: seq, link and epoch key. */
interface Head {
    seq: number
    link: Buffer
    key: Buffer
}

function seal(head: Head, content: Buffer) {
    const tag = tagOf(head.key, DEVICE_ID, head.link, content)
    const block = Buffer.concat([content, tag])
    const hash = sha256(head.link, block)
    return { tag, block, hash, next: { seq: head.seq + 1, link: hash, key: epochKeyAfter(head.key, DEVICE_ID, head.seq) } }
}

function checkpointContent(head: Head, time: Time, keyIndex: number, seed: Buffer, nextPublicKey: Buffer, signer = seed) {
    const unsigned = Buffer.concat([header(RECORD.checkpoint, head.seq, time, 0), varint(keyIndex), nextPublicKey])
    const message = Buffer.concat([CHECKPOINT_LABEL, DEVICE_ID, head.link, unsigned])
    const signature = signEd25519(signer, message)
    return { unsigned, message, signature, content: Buffer.concat([unsigned, signature]) }
}

const dataContent = (head: Head, time: Time, value: number, count: number) =>
    // One channel, every value equal: its first value, then coding byte 0 (fixed width 0, no deltas).
    Buffer.concat([header(RECORD.data, head.seq, time, count), u8(1), varint(zigzag(value)), u8(0)])

/** The script of the chain: what each block is. */
type Step = { kind: "data"; time: Time; value: number; count: number; note: string } | { kind: "checkpoint"; time: Time; note: string }

const STEPS: Step[] = [
    { kind: "data", time: { boot: 1, uptimeMs: 1000 }, value: 2210, count: 3, note: "data: 3 readings of 22.10 degC" },
    {
        kind: "checkpoint",
        time: { boot: 1, uptimeMs: 3000, unixTime: 1767225603 },
        note: "signed checkpoint 0 (with unix time): signed by pk_0, the key registered at provisioning; certifies pk_1",
    },
    { kind: "data", time: { boot: 1, uptimeMs: 4000 }, value: 2215, count: 2, note: "data: 2 readings of 22.15 degC" },
    { kind: "checkpoint", time: { boot: 1, uptimeMs: 5000 }, note: "signed checkpoint 1 (no unix time): signed by pk_1; certifies pk_2" },
    { kind: "data", time: { boot: 2, uptimeMs: 200 }, value: 2190, count: 1, note: "data: 1 reading of 21.90 degC after a restart" },
    {
        kind: "checkpoint",
        time: { boot: 2, uptimeMs: 200, unixTime: 1767230000 },
        note: "signed checkpoint 2 (with unix time, the same instant as the reading before): signed by pk_2; certifies pk_3",
    },
    { kind: "data", time: { boot: 2, uptimeMs: 1200 }, value: 2191, count: 4, note: "data: the unsigned tail" },
]

function buildChain() {
    let head: Head = { seq: 0, link: Buffer.alloc(32), key: KEY0 }
    const blocks: BlockVector[] = []
    const push = (type: string, note: string, time: Time, content: Buffer, extra: Partial<BlockVector> = {}) => {
        const s = seal(head, content)
        blocks.push({
            seq: head.seq,
            type,
            note,
            time,
            link: hex(head.link),
            epochKey: hex(head.key),
            tag: hex(s.tag),
            block: hex(s.block),
            hash: hex(s.hash),
            ...extra,
        })
        head = s.next
    }
    const genesisTime = { boot: 1, uptimeMs: 250 }
    push(
        "genesis",
        "genesis: a first chain (zero link), one channel",
        genesisTime,
        Buffer.concat([
            header(RECORD.genesis, 0, genesisTime, 0),
            head.link,
            DEVICE_ID,
            str("fieldledger/0.1.0"),
            str("simulator"),
            u8(1),
            str(CHANNEL.name),
            str(CHANNEL.unit),
            u8(CHANNEL.exponent & 255),
        ])
    )
    let seed = SEED0
    let keyIndex = 0
    for (const step of STEPS) {
        if (step.kind === "data") {
            push("data", step.note, step.time, dataContent(head, step.time, step.value, step.count), {
                readings: Array.from({ length: step.count }, () => step.value),
            })
            continue
        }
        const following = nextSeed(seed)
        const nextPublicKey = publicKeyOf(following)
        const c = checkpointContent(head, step.time, keyIndex, seed, nextPublicKey)
        push("checkpoint", step.note, step.time, c.content, {
            checkpoint: {
                keyIndex,
                seed: hex(seed),
                publicKey: hex(publicKeyOf(seed)),
                nextSeed: hex(following),
                nextPublicKey: hex(nextPublicKey),
                unsigned: hex(c.unsigned),
                message: hex(c.message),
                signature: hex(c.signature),
            },
        })
        seed = following
        keyIndex++
    }
    return blocks
}

const chain = buildChain()

// ---- tampered chains: what a holder of K_0 (the gateway) could make ----

/** The chain with block `at` replaced by `content` and every block from there re-sealed under K_0 (new tags, new hashes). */
function resealedFrom(at: number, content: Buffer): string[] {
    const out = chain.slice(0, at).map(b => b.block)
    const prev = chain[at - 1]
    let head: Head = { seq: at, link: Buffer.from(prev.hash, "hex"), key: Buffer.from(chain[at].epochKey, "hex") }
    for (let i = at; i < chain.length; i++) {
        const original = Buffer.from(chain[i].block, "hex")
        const s = seal(head, i === at ? content : original.subarray(0, original.length - 16))
        out.push(hex(s.block))
        head = s.next
    }
    return out
}

const headAt = (seq: number): Head => ({ seq, link: Buffer.from(chain[seq].link, "hex"), key: Buffer.from(chain[seq].epochKey, "hex") })
const cp = (seq: number) => chain[seq].checkpoint

interface TamperedCase {
    name: string
    note: string
    /** The export: every block, in seq order. */
    blocks: string[]
    /** Verified under K_0 alone (tags, links, seqs): "ok", or the failure code. */
    withKey0: string
    /** Public verification with pk_0 and no K_0: where it fails (seq null: the block does not decode), and up to which seq it verified (null: nothing). */
    expect: { index: number; seq: number | null; code: string; verifiedTo: number | null }
}

function tampered(): TamperedCase[] {
    const seed1 = Buffer.from(cp(4).seed, "hex")
    const pk2 = Buffer.from(cp(4).nextPublicKey, "hex")
    const flipped = Buffer.from(chain[4].block, "hex").subarray(0, -16)
    flipped[flipped.length - 1] ^= 0x01
    const truncated = Buffer.from(chain[4].block, "hex").subarray(0, -17)
    const truncatedBlocks = chain.map(b => b.block)
    truncatedBlocks[4] = hex(Buffer.concat([truncated, tagOf(headAt(4).key, DEVICE_ID, headAt(4).link, truncated)]))
    return [
        {
            name: "altered-data-resealed",
            note: "data block 3 altered (22.15 -> 22.16 degC) and the chain re-sealed under K_0: valid under K_0, publicly verified only up to seq 2",
            blocks: resealedFrom(3, dataContent(headAt(3), chain[3].time, 2216, 2)),
            withKey0: "ok",
            expect: { index: 4, seq: 4, code: "signature", verifiedTo: 2 },
        },
        {
            name: "signature-bit-flipped",
            note: "the last bit of signed checkpoint 1's signature flipped, re-sealed under K_0",
            blocks: resealedFrom(4, flipped),
            withKey0: "ok",
            expect: { index: 4, seq: 4, code: "signature", verifiedTo: 2 },
        },
        {
            name: "next-key-replaced",
            note: "signed checkpoint 0 certifying another next key (a forger's), re-sealed under K_0: its own signature no longer verifies",
            blocks: resealedFrom(
                2,
                Buffer.concat([
                    Buffer.from(cp(2).unsigned, "hex").subarray(0, -32),
                    publicKeyOf(OTHER_SEED),
                    Buffer.from(cp(2).signature, "hex"),
                ])
            ),
            withKey0: "ok",
            expect: { index: 2, seq: 2, code: "signature", verifiedTo: null },
        },
        {
            name: "signed-by-another-key",
            note: "signed checkpoint 1 signed by a key other than the certified pk_1 (a forger's), re-sealed under K_0",
            blocks: resealedFrom(4, checkpointContent(headAt(4), chain[4].time, 1, seed1, pk2, OTHER_SEED).content),
            withKey0: "ok",
            expect: { index: 4, seq: 4, code: "signature", verifiedTo: 2 },
        },
        {
            name: "wrong-key-index",
            note: "signed checkpoint 1 carrying key index 2 (correctly signed by seed_1), re-sealed under K_0",
            blocks: resealedFrom(4, checkpointContent(headAt(4), chain[4].time, 2, seed1, pk2).content),
            withKey0: "ok",
            expect: { index: 4, seq: 4, code: "checkpoint-key", verifiedTo: 2 },
        },
        {
            name: "signature-truncated",
            note: "signed checkpoint 1 one signature byte short, with a valid tag: a strict decoder rejects it",
            blocks: truncatedBlocks,
            withKey0: "malformed",
            expect: { index: 4, seq: null, code: "malformed", verifiedTo: 2 },
        },
    ]
}

const doc = {
    description:
        "Signed checkpoint golden vectors (docs/FORMAT.md, 'Checkpoint body'), written by tools/gen-checkpoint-vectors.ts, an encoder independent of src/lib, with node:crypto. Do not edit.",
    deviceId: hex(DEVICE_ID),
    key0: hex(KEY0),
    seed0: hex(SEED0),
    publicKey0: hex(publicKeyOf(SEED0)),
    /** First 8 bytes of SHA-256(pk_0), hex. */
    publicKey0Fingerprint: hex(sha256(publicKeyOf(SEED0)).subarray(0, 8)),
    labels: {
        tag: TAG_LABEL.toString(),
        evolve: EVOLVE_LABEL.toString(),
        checkpoint: CHECKPOINT_LABEL.toString(),
        signEvolve: SIGN_EVOLVE_LABEL.toString(),
    },
    intervalMs: INTERVAL_MS,
    channel: CHANNEL,
    chain,
    /** Public verification of the whole chain with pk_0 (with or without K_0). */
    report: {
        verifiedTo: 6,
        checkpoints: 3,
        unsignedFrom: 7,
        unsignedTo: 7,
        unsignedBlocks: 1,
        nextPublicKey: cp(6).nextPublicKey,
    },
    tampered: tampered(),
}

const json = JSON.stringify(doc, null, 1) + "\n"
const ts = `/**
 * Golden vectors of the signed checkpoint record: the same data as golden-checkpoint.json,
 * generated by tools/gen-checkpoint-vectors.ts (do not edit). A plain object literal, so that
 * DeviceScript tests can import it too.
 */

export interface GoldenCheckpointTime {
    boot: number
    uptimeMs: number
    unixTime?: number
}

export interface GoldenCheckpointSigned {
    keyIndex: number
    seed: string
    publicKey: string
    nextSeed: string
    nextPublicKey: string
    unsigned: string
    message: string
    signature: string
}

export interface GoldenCheckpointBlock {
    seq: number
    type: string
    note: string
    time: GoldenCheckpointTime
    link: string
    epochKey: string
    tag: string
    block: string
    hash: string
    readings?: number[]
    checkpoint?: GoldenCheckpointSigned
}

export const goldenCheckpointChain: GoldenCheckpointBlock[] = ${JSON.stringify(chain, null, 4)}

export const goldenCheckpointDeviceId = ${JSON.stringify(doc.deviceId)}
export const goldenCheckpointKey0 = ${JSON.stringify(doc.key0)}
export const goldenCheckpointSeed0 = ${JSON.stringify(doc.seed0)}
export const goldenCheckpointPublicKey0 = ${JSON.stringify(doc.publicKey0)}
`

runGenerator("tools/gen-checkpoint-vectors.ts", HELP, ROOT, [
    [JSON_PATH, json],
    [TS_PATH, ts],
])
