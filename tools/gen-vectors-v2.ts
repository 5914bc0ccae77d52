/**
 * The golden vectors of block format v2 (docs/FORMAT.md, "Golden vectors"): what
 * tools/gen-vectors.ts writes to test/vectors/golden-v2.json, golden-v2.ts and the v2 worked
 * example in docs/FORMAT.md.
 *
 * Every chain is sealed twice from the same script: by the shared Ledger (src/lib/, what the
 * firmware runs) and by the independent encoder of tools/lib/specv2.ts, written from FORMAT.md
 * without the shared codec. Any byte, hash or key on which they differ stops the generator.
 * Then the shared decoder must give back each block's content and the shared verifier accept
 * each chain; malformed blocks (validly tagged, yet breaking one rule) must be refused, and
 * tampered chains must fail exactly as FORMAT.md says.
 *
 * Record type 3 (the signed checkpoint) is not defined here: its vectors belong to its own file.
 */
import { copyBytes, FormatError, fromHex, toHex } from "../src/lib/codec/bytes"
import { decodeBlock, newChainHead, SealedBlock } from "../src/lib/ledger/chain"
import {
    BlockTime,
    ChannelSpec,
    GAP_BACKLOG_FULL,
    GAP_POWER_LOSS,
    GAP_REASONS,
    GAP_SAMPLING_STOPPED,
    RECORD_NAMES,
} from "../src/lib/codec/format"
import { deriveEpochKey } from "../src/lib/ledger/keys"
import { Ledger } from "../src/lib/ledger/ledger"
import { Reading } from "../src/lib/codec/readings"
import { verifyChain, VerifyOptions } from "../src/lib/ledger/verify"
import { countingBytes, decodedJson, reportJson, rowsDump, Row, scaled } from "./lib/vectorforms"
import { nobleCrypto, nodeCrypto } from "./lib/crypto"
import {
    SPEC_RICE,
    specCodingCosts,
    specData,
    specEvolve,
    specGap,
    specGenesis,
    SpecGap,
    specHash,
    specHeader,
    specSeal,
    SpecTime,
    specVarint,
    specZigzag,
} from "./lib/specv2"

export const V2_DEVICE_ID_HEX = "12abdd2289421234"
/** The vectors' own firmware string (a fixed input, not the firmware's version). */
export const V2_FIRMWARE = "fieldledger/0.2.0"
export const V2_BOARD = "simulator"
export const V2_CHANNELS: ChannelSpec[] = [
    { name: "temperature", unit: "degC", exponent: -2 },
    { name: "humidity", unit: "%RH", exponent: -2 },
    { name: "pressure", unit: "hPa", exponent: -1 },
]

const MIN = -2147483648
const MAX = 2147483647
/** 2^53 - 1: the largest varint, and the latest a reading's time may be. */
const MAX_TIME = 9007199254740991
const _: null = null

interface Step {
    kind: "genesis" | "data" | "gap"
    note: string
    /** Genesis and gap: the header time. Data: the time of the first reading. */
    time: SpecTime
    readings?: Reading[]
    gap?: SpecGap
    /** Format version of the block: 2 unless 1 (the v1 start of a chain that steps to v2). */
    version?: number
}

interface ChainScript {
    name: string
    note: string
    /** Every chain MUST have its own K_0. */
    key0: Buffer
    intervalMs: number
    /** The chain this one succeeds: its genesis link is that chain's head. */
    previousChain?: string
    steps: Step[]
    /** Seqs sealed but left out of the export (dropped from a full backlog). */
    dropped: number[]
}

/** 20 pressure readings around 1013 hPa, still to a few tenths, with one jump: a Rice(k) channel with k > 1 (Rice(3)). */
function noisyPressure(): number[] {
    const steps = [3, -2, 1, 0, -3, 2, 4, -1, 0, 1, 100, -2, 3, -1, 0, 2, -3, 1, 0]
    const out = [10130]
    for (const s of steps) out.push(out[out.length - 1] + s)
    return out
}

const PRESSURE = noisyPressure()

const MAIN: ChainScript = {
    name: "main",
    note: "A first chain: genesis, data blocks covering both channel codings and the codec's cases, a power-loss and a sampling-stopped gap record.",
    key0: countingBytes(0x40, 32),
    intervalMs: 1000,
    steps: [
        {
            kind: "genesis",
            note: "genesis: link of 32 zero bytes (first chain), device, firmware, board and three channels",
            time: { boot: 1, uptimeMs: 250 },
        },
        {
            kind: "data",
            note: "small deltas, fixed widths, no missing value, no unix time",
            time: { boot: 1, uptimeMs: 1000 },
            readings: [
                [2150, 4520, 10132],
                [2152, 4518, 10132],
                [2155, 4511, 10131],
                [2153, 4509, 10133],
            ],
        },
        {
            kind: "data",
            note: "tie rule: temperature's fixed width 3 and Rice(0), Rice(1) all take 12 bits, so fixed; humidity's Rice(0) and Rice(1) tie below fixed, so Rice(0); pressure constant (width 0); unix time known",
            time: { boot: 1, uptimeMs: 5000, unixTime: 1767225600 },
            readings: [
                [2000, 4500, 10130],
                [2002, 4504, 10130],
                [2004, 4504, 10130],
                [2004, 4504, 10130],
                [2004, 4504, 10130],
            ],
        },
        {
            kind: "data",
            note: "Rice(3): pressure moves by a few tenths and jumps once by 10 hPa (fixed width would take 8 bits a delta); humidity Rice(1)",
            time: { boot: 1, uptimeMs: 10000, unixTime: 1767225605 },
            readings: PRESSURE.map((p, i) => [2004 + (i % 2), 4504 - (i % 3), p]),
        },
        {
            kind: "data",
            note: "full int32 swing MIN -> MAX and back to a negative value (33-bit fixed width), negative values",
            time: { boot: 1, uptimeMs: 30000 },
            readings: [
                [MIN, -1, 10129],
                [MAX, 0, 10128],
                [-1250, -7, 10126],
            ],
        },
        {
            kind: "data",
            note: "one missing value (humidity of the second reading): bitmap present, flags 0x03",
            time: { boot: 1, uptimeMs: 33000, unixTime: 1767225628 },
            readings: [
                [2210, 4610, 10135],
                [2212, _, 10135],
                [2215, 4605, 10134],
            ],
        },
        {
            kind: "data",
            note: "a reading with every value missing, pressure missing for the whole block (no first value, no coding byte), humidity with one delta",
            time: { boot: 1, uptimeMs: 36000 },
            readings: [
                [2216, 4600, _],
                [_, _, _],
                [2220, 4598, _],
                [2221, _, _],
            ],
        },
        {
            kind: "gap",
            note: "power loss after boot 1: at most 5 readings from boot 1 +40 s were lost; no sealed block was lost",
            time: { boot: 2, uptimeMs: 180 },
            gap: { reason: GAP_POWER_LOSS, lostReadings: 5, from: { boot: 1, uptimeMs: 40000 }, lostBlocks: 0, firstLostSeq: 0 },
        },
        {
            kind: "data",
            note: "data after the restart (boot 2), one reading: every channel has one value and coding byte 0",
            time: { boot: 2, uptimeMs: 1000 },
            readings: [[2230, 4580, 10140]],
        },
        {
            kind: "gap",
            note: "sampling stopped: 4 reading slots from boot 2 +2 s not sampled",
            time: { boot: 2, uptimeMs: 6000 },
            gap: { reason: GAP_SAMPLING_STOPPED, lostReadings: 4, from: { boot: 2, uptimeMs: 2000 }, lostBlocks: 0, firstLostSeq: 0 },
        },
        {
            kind: "data",
            note: "data after the sampling gap",
            time: { boot: 2, uptimeMs: 6000 },
            readings: [
                [2231, 4579, 10141],
                [2232, 4579, 10141],
            ],
        },
    ],
    dropped: [],
}

const DROPPED: ChainScript = {
    name: "dropped",
    note:
        "A successor of chain main under a new K_0: its genesis link is main's head. Its backlog filled up: blocks 2..3 were " +
        "dropped, so the export omits them; block 4's link is block 3's hash and gap record 5 (backlog-full) declares seq 2..3 lost with that hash.",
    key0: countingBytes(0x60, 32),
    intervalMs: 1000,
    previousChain: "main",
    steps: [
        { kind: "genesis", note: "genesis of a successor chain: link = head hash of chain main", time: { boot: 3, uptimeMs: 100 } },
        {
            kind: "data",
            note: "delivered",
            time: { boot: 3, uptimeMs: 1000 },
            readings: [
                [2300, 4400, 10100],
                [2301, 4401, 10100],
            ],
        },
        {
            kind: "data",
            note: "dropped from the full backlog (not in the export)",
            time: { boot: 3, uptimeMs: 3000 },
            readings: [
                [2302, 4402, 10101],
                [2303, 4403, 10101],
            ],
        },
        {
            kind: "data",
            note: "dropped from the full backlog (not in the export)",
            time: { boot: 3, uptimeMs: 5000 },
            readings: [
                [2304, 4404, 10102],
                [2305, 4405, 10102],
            ],
        },
        {
            kind: "data",
            note: "first block after the dropped ones: its link (in its tag and hash) is block 3's hash",
            time: { boot: 3, uptimeMs: 7000 },
            readings: [
                [2306, 4406, 10103],
                [2307, 4407, 10103],
            ],
        },
        {
            kind: "gap",
            note: "backlog-full: blocks 2..3 (4 readings from boot 3 +3 s) dropped; lastLostHash = hash of block 3",
            time: { boot: 3, uptimeMs: 9000 },
            gap: { reason: GAP_BACKLOG_FULL, lostReadings: 4, from: { boot: 3, uptimeMs: 3000 }, lostBlocks: 2, firstLostSeq: 2 },
        },
        { kind: "data", note: "data after the gap record", time: { boot: 3, uptimeMs: 9000 }, readings: [[2308, 4408, 10104]] },
    ],
    dropped: [2, 3],
}

/** 255 readings at 1 ms: temperature constant, humidity still but for a few steps of 0.01, pressure rising 0.1 a reading. */
function fullBlock(): Reading[] {
    const out: Reading[] = []
    let humidity = 5000
    for (let i = 0; i < 255; i++) {
        if (i % 50 === 17) humidity += 1
        if (i % 50 === 43) humidity -= 1
        out.push([1500, humidity, 9000 + i])
    }
    return out
}

const EDGES: ChainScript = {
    name: "edges",
    note:
        "The limits of FORMAT.md's rules: interval 1 ms on every record, boot 0 at uptime 0, a block of the most readings (255), " +
        "and a block whose last reading is at 2^53 - 1 ms with a unix time whose last reading is at 2^53 - 1 s.",
    key0: countingBytes(0x80, 32),
    intervalMs: 1,
    steps: [
        {
            kind: "genesis",
            note: "genesis at boot 0, uptime 0, interval 1 ms (the least a v2 record may carry)",
            time: { boot: 0, uptimeMs: 0 },
        },
        {
            kind: "data",
            note: "255 readings (the most a block holds): humidity Rice(0), pressure's constant step fixed width 2, temperature width 0",
            time: { boot: 0, uptimeMs: 1 },
            readings: fullBlock(),
        },
        {
            kind: "data",
            note: "the last reading's time is 2^53 - 1 ms (uptime 2^53 - 3, 3 readings at 1 ms) and its unix time 2^53 - 2 + ceil(2 ms / 1000) = 2^53 - 1 s",
            time: { boot: 0, uptimeMs: MAX_TIME - 2, unixTime: MAX_TIME - 1 },
            readings: [
                [1500, 5000, 9300],
                [1501, 5000, 9300],
                [1502, 5000, 9301],
            ],
        },
    ],
    dropped: [],
}

const UPGRADE: ChainScript = {
    name: "upgrade",
    note:
        "A chain that steps from v1 to v2 (a firmware update keeps the chain, its head and its key): v1 genesis and data, " +
        "then v2 blocks, the first of which has the v1 block's SHA-256 as its link.",
    key0: countingBytes(0xa0, 32),
    intervalMs: 1000,
    steps: [
        { kind: "genesis", note: "v1 genesis (link in the header)", time: { boot: 1, uptimeMs: 200 }, version: 1 },
        {
            kind: "data",
            note: "v1 data block",
            time: { boot: 1, uptimeMs: 1000 },
            readings: [
                [2100, 4000, 10000],
                [2101, 4001, 10000],
            ],
            version: 1,
        },
        {
            kind: "data",
            note: "first v2 block, after the update (boot 2): its link is SHA-256 of v1 block 1",
            time: { boot: 2, uptimeMs: 500 },
            readings: [
                [2102, 4002, 10001],
                [2103, 4003, 10001],
            ],
        },
        {
            kind: "gap",
            note: "v2 power-loss gap record",
            time: { boot: 3, uptimeMs: 90 },
            gap: { reason: GAP_POWER_LOSS, lostReadings: 10, from: { boot: 2, uptimeMs: 2500 }, lostBlocks: 0, firstLostSeq: 0 },
        },
    ],
    dropped: [],
}

export const V2_SCRIPTS = [MAIN, DROPPED, EDGES, UPGRADE]

function fail(message: string): never {
    throw new Error("gen-vectors (v2): " + message)
}

const deviceId = () => fromHex(V2_DEVICE_ID_HEX, "device id")

function readingTime(t: SpecTime, i: number, intervalMs: number): BlockTime {
    // Only reading 0's unix time is sealed (the header's); the others are on its grid.
    const time: BlockTime = { boot: t.boot, uptimeMs: t.uptimeMs + i * intervalMs }
    if (t.unixTime !== undefined && i === 0) time.unixTime = t.unixTime
    return time
}

/** The shared side: the Ledger seals the script as the firmware would (a new Ledger on the stored head at a v1 -> v2 step). */
function sealShared(script: ChainScript, previousHead: Buffer | undefined): SealedBlock[] {
    const id = deviceId()
    const blocks: SealedBlock[] = []
    let version = 0
    let ledger: Ledger = undefined as unknown as Ledger
    for (const step of script.steps) {
        const v = step.version ?? 2
        if (v !== version) {
            const seq = blocks.length
            const head =
                seq === 0
                    ? newChainHead(copyBytes(script.key0, 0, 32), previousHead)
                    : { seq, link: blocks[seq - 1].hash, key: deriveEpochKey(nobleCrypto, script.key0, id, seq) }
            ledger = new Ledger(nobleCrypto, id, V2_CHANNELS, head, { intervalMs: script.intervalMs, formatVersion: v })
            version = v
        }
        if (step.kind === "genesis") blocks.push(ledger.sealGenesis(step.time, V2_FIRMWARE, V2_BOARD))
        else if (step.kind === "data") {
            const readings = step.readings!
            let sealed: SealedBlock | undefined
            readings.forEach((reading, i) => {
                const out = ledger.append(reading, readingTime(step.time, i, script.intervalMs))
                // Only the last reading may seal, and only a full block (255 readings).
                if (out.length === 0) return
                if (i !== readings.length - 1 || out.length !== 1 || ledger.openReadingCount() !== 0)
                    fail("chain " + script.name + ": the ledger sealed on its own; keep the vector blocks within one block")
                sealed = out[0]
            })
            blocks.push(sealed ?? ledger.sealOpen()!)
        } else {
            const g = step.gap!
            const gap = { ...g, from: { ...g.from } }
            if (gap.lostBlocks > 0) gap.lastLostHash = blocks[gap.firstLostSeq + gap.lostBlocks - 1].hash
            const sealed = ledger.sealGap(gap, step.time)
            if (sealed.length !== 1) fail("a gap step must follow a sealed data block")
            blocks.push(sealed[0])
        }
    }
    return blocks
}

/** A block as the independent encoder seals it. */
interface SpecBlock {
    bytes: Buffer
    hash: Buffer
    link: Buffer
    key: Buffer
    /** Data blocks: each channel's coding byte, null for a channel without a present value. */
    codings?: (number | null)[]
}

/** The independent side: specv2.ts seals the same script from FORMAT.md. */
function sealSpec(script: ChainScript, previousHead: Buffer | undefined): SpecBlock[] {
    const id = deviceId()
    const out: SpecBlock[] = []
    let key = script.key0
    let link = previousHead ?? Buffer.alloc(32)
    script.steps.forEach((step, seq) => {
        const o = step.version === 1 ? { v1Link: link } : {}
        let content: Buffer
        let codings: (number | null)[] | undefined
        if (step.kind === "genesis") content = specGenesis(step.time, script.intervalMs, link, id, V2_FIRMWARE, V2_BOARD, V2_CHANNELS, o)
        else if (step.kind === "data") {
            const d = specData(seq, step.time, script.intervalMs, step.readings!, V2_CHANNELS.length, o)
            content = d.content
            codings = d.channels.map(c => (c.code === undefined ? null : c.code))
        } else {
            const g = { ...step.gap! }
            if (g.lostBlocks > 0) g.lastLostHash = out[g.firstLostSeq + g.lostBlocks - 1].hash
            content = specGap(seq, step.time, script.intervalMs, g, o)
        }
        const sealed = specSeal(key, id, link, content)
        out.push({ bytes: sealed.bytes, hash: sealed.hash, link, key, codings })
        link = sealed.hash
        key = specEvolve(key, id, seq)
    })
    return out
}

interface SealedChainV2 {
    script: ChainScript
    blocks: SealedBlock[]
    spec: SpecBlock[]
}

// ---------------------------------------------------------------------------------------------
// Malformed v2 blocks, each validly tagged under K_seq of chain main with the link the chain
// gives at that seq: only a strict decoder stands between it and acceptance.

export interface MalformedV2 {
    name: string
    seq: number
    hex: string
    rule: string
}

function malformedVectors(main: SealedChainV2): MalformedV2[] {
    const id = deviceId()
    const out: MalformedV2[] = []
    const steps = main.script.steps
    const interval = main.script.intervalMs
    const add = (name: string, seq: number, content: Buffer, rule: string) => {
        const { bytes } = specSeal(main.spec[seq].key, id, main.spec[seq].link, content)
        try {
            decodeBlock(bytes)
        } catch (e) {
            if (!(e instanceof FormatError)) throw e
            out.push({ name, seq, hex: toHex(bytes), rule })
            return
        }
        fail("malformed vector '" + name + "' decodes")
    }
    const data = (seq: number, o = {}, codes?: (number | undefined)[], readings?: Reading[], time?: SpecTime) =>
        specData(seq, time ?? steps[seq].time, interval, readings ?? steps[seq].readings!, V2_CHANNELS.length, o, codes).content
    const genesis = (o = {}, firmware: string | Buffer = V2_FIRMWARE) =>
        specGenesis(steps[0].time, interval, Buffer.alloc(32), id, firmware, V2_BOARD, V2_CHANNELS, o)
    const withByte = (content: Buffer, at: number, value: number) => {
        const c = Buffer.from(content)
        c[at] = value
        return c
    }
    const gapSeq = steps.findIndex(s => s.kind === "gap")
    /** Block seq's data header (its own time and interval) with `count` readings and no missing-values flag. */
    const specHeaderOnly = (seq: number, count: number) => specHeader(1, seq, steps[seq].time, interval, count, false)

    add("version-3", 1, withByte(data(1), 0, 3), "byte 0 (version) is 1 or 2")
    add("unknown-type-4", 1, withByte(data(1), 1, 4), "byte 1 (type) is 0, 1 or 2 (3 is reserved for the checkpoint)")
    add("encrypted-flag-on-genesis", 0, genesis({ extraFlags: 0x04 }), "flag bit 2 (encrypted readings) is allowed on a v2 data block only")
    add("unknown-flag-bit-3", 1, data(1, { extraFlags: 0x08 }), "flag bits 3..7 are zero")
    add(
        "non-canonical-varint",
        1,
        Buffer.concat([data(1).subarray(0, 3), Buffer.from([0x81, 0x00]), data(1).subarray(4)]),
        "a varint does not end in a zero group (seq 1 written as 81 00)"
    )
    add("genesis-seq-1", 1, genesis({ seq: 1 }), "question 1: a genesis block has seq 0; a decoder rejects another seq")
    add(
        "genesis-invalid-utf8",
        0,
        genesis({}, Buffer.from([0x66, 0x6c, 0xff, 0xfe])),
        "question 2: text is valid UTF-8 (firmware bytes 66 6c ff fe)"
    )
    add(
        "genesis-interval-0",
        0,
        genesis({ intervalMs: 0 }),
        "question 7: v2 intervalMs is at least 1 on every record (here a genesis block)"
    )
    add(
        "gap-interval-0",
        gapSeq,
        specGap(gapSeq, steps[gapSeq].time, interval, steps[gapSeq].gap!, { intervalMs: 0 }),
        "question 7: v2 intervalMs is at least 1 on every record (here a gap record)"
    )
    add("data-interval-0", 1, data(1, { intervalMs: 0 }), "intervalMs is at least 1")
    add(
        "last-reading-past-2^53",
        1,
        data(1, {}, undefined, undefined, { boot: 1, uptimeMs: MAX_TIME - 2 }),
        "question 7: the last reading's time, uptimeMs + (readingCount - 1) * intervalMs, is at most 2^53 - 1 (here 2^53 + 1)"
    )
    add(
        "last-unix-time-past-2^53",
        1,
        data(1, {}, undefined, undefined, { boot: 1, uptimeMs: 1000, unixTime: MAX_TIME - 2 }),
        "question 7: unixTime + ceil((readingCount - 1) * intervalMs / 1000) is at most 2^53 - 1 (here 2^53)"
    )
    add(
        "data-without-readings",
        1,
        Buffer.concat([Buffer.from(specHeaderOnly(1, 0)), Buffer.from([3])]),
        "a data block holds 1..255 readings"
    )
    {
        // The codings of block 2 (tie rule) and block 3 (Rice(4)) forced to another candidate.
        const c2 = main.spec[2].codings!
        const c3 = main.spec[3].codings!
        if (c2[0] !== 3 || c2[1] !== SPEC_RICE || c3[2] !== SPEC_RICE + 3)
            fail("main blocks 2 and 3 no longer have the codings the malformed vectors bend")
        add(
            "tie-not-fixed",
            2,
            data(2, {}, [SPEC_RICE]),
            "on a tie the writer picks fixed width: temperature written as Rice(0), 12 bits like fixed width 3"
        )
        add(
            "tie-not-smallest-k",
            2,
            data(2, {}, [undefined, SPEC_RICE + 1]),
            "on a tie between Rice codes the smallest k: humidity written as Rice(1), 12 bits like Rice(0)"
        )
        add(
            "fixed-not-cheapest",
            3,
            data(3, {}, [undefined, undefined, 8]),
            "the cheapest coding: pressure written at fixed width 8 (152 bits) where Rice(3) takes 102"
        )
        add(
            "rice-k-not-cheapest",
            3,
            data(3, {}, [undefined, undefined, SPEC_RICE + 2]),
            "the cheapest coding: pressure written as Rice(2) (115 bits) where Rice(3) takes 102"
        )
        if (main.spec[1].codings![0] !== 3) fail("main block 1's temperature is no longer at fixed width 3")
        add(
            "fixed-width-not-minimal",
            1,
            data(1, {}, [4]),
            "a fixed width is the bit length of the largest zigzag delta (temperature at 4 bits where 3 do)"
        )
    }
    add("unknown-coding-34", 1, data(1, {}, [34]), "coding bytes are 0..33 (fixed) and 64..96 (Rice); 34 is reserved")
    add("unknown-coding-rice-33", 1, data(1, {}, [SPEC_RICE + 33]), "Rice(k) has k = 0..32; 97 is reserved")
    add("coding-without-deltas", 8, data(8, {}, [1]), "a channel with fewer than two present values has coding byte 0")
    {
        const c = data(1)
        const last = c[c.length - 1]
        if ((last & 1) !== 0) fail("main block 1 has no padding bit to flip")
        add("non-zero-padding", 1, withByte(c, c.length - 1, last | 1), "the padding bits after the packed deltas are zero")
    }
    add("trailing-byte", 1, Buffer.concat([data(1), Buffer.from([0])]), "nothing follows the body before the tag")
    {
        // A bitmap of zeros under the missing-values flag.
        const c = data(1, { extraFlags: 0x02 })
        const at = specHeaderOnly(1, 4).length + 1
        add(
            "missing-flag-without-missing-value",
            1,
            Buffer.concat([c.subarray(0, at), Buffer.from([0, 0]), c.subarray(at)]),
            "flag bit 1 is set only when some value is missing (here: a bitmap of zeros)"
        )
    }
    add(
        "value-over-int32",
        8,
        Buffer.concat([Buffer.from(specHeaderOnly(8, 1)), Buffer.from([3, ...specVarint(specZigzag(2147483648)), 0, 0, 0, 0, 0])]),
        "every value is a signed 32-bit integer"
    )
    add(
        "gap-reason-0",
        gapSeq,
        specGap(gapSeq, steps[gapSeq].time, interval, { ...steps[gapSeq].gap!, reason: 0 }),
        "the gap reason is 1, 2 or 3"
    )
    return out
}

// ---------------------------------------------------------------------------------------------
// Tampered chains: each fails verification exactly as FORMAT.md says (or, documented, does not).

export interface TamperedV2 {
    name: string
    chain: string
    rule: string
    /** K_0 the verifier is given (null: verified without a key). */
    key0: string | null
    expectedHead?: { seq: number; hash: string }
    blocks: string[]
    /** null: the chain is accepted (what a verifier without K_0 and a head cannot see). */
    failure: { index: number; seq?: number; code: string } | null
}

function tamperedVectors(chains: { [name: string]: SealedChainV2 }): TamperedV2[] {
    const id = deviceId()
    const out: TamperedV2[] = []
    const exported = (c: SealedChainV2) => c.blocks.filter(b => c.script.dropped.indexOf(b.seq) < 0).map(b => b.bytes)
    const add = (
        name: string,
        chain: SealedChainV2,
        rule: string,
        blocks: Buffer[],
        failure: TamperedV2["failure"],
        options: { withoutKey?: boolean; expectedHead?: { seq: number; hash: Buffer } } = {}
    ) => {
        const o: VerifyOptions = { deviceId: id }
        if (!options.withoutKey) o.key0 = chain.script.key0
        if (options.expectedHead) o.expectedHead = options.expectedHead
        for (const crypto of [nobleCrypto, nodeCrypto]) {
            const report = verifyChain(crypto, blocks, o)
            const got = report.failure ? { index: report.failure.index, seq: report.failure.seq, code: report.failure.code } : null
            if (JSON.stringify(got) !== JSON.stringify(failure))
                fail(
                    "tampered vector '" +
                        name +
                        "': expected " +
                        JSON.stringify(failure) +
                        ", the verifier says " +
                        JSON.stringify(report.failure)
                )
        }
        const v: TamperedV2 = {
            name,
            chain: chain.script.name,
            rule,
            key0: options.withoutKey ? null : toHex(chain.script.key0),
            blocks: blocks.map(toHex),
            failure,
        }
        if (options.expectedHead) v.expectedHead = { seq: options.expectedHead.seq, hash: toHex(options.expectedHead.hash) }
        out.push(v)
    }
    const main = chains.main
    const dropped = chains.dropped
    const upgrade = chains.upgrade
    const steps = main.script.steps
    const interval = main.script.intervalMs
    const reseal = (c: SealedChainV2, seq: number, content: Buffer, link?: Buffer, key?: Buffer) =>
        specSeal(key ?? c.spec[seq].key, id, link ?? c.spec[seq].link, content).bytes
    const mainHead = main.blocks[main.blocks.length - 1]

    {
        const list = exported(main)
        const b = Buffer.from(list[1])
        b[5] ^= 0x01 // uptimeMs 1000 (e8 07) -> 1001: still well formed, no longer what was tagged
        list[1] = b
        add("altered-header-byte", main, "an altered byte fails the tag under K_seq", list, { index: 1, seq: 1, code: "tag" })
    }
    {
        const list = exported(main)
        const content = list[2].subarray(0, list[2].length - 16)
        list[2] = reseal(main, 2, content, main.blocks[0].hash)
        add("wrong-link", main, "v2 has no stored link: a block tagged over another link (block 0's hash) fails as tag, not link", list, {
            index: 2,
            seq: 2,
            code: "tag",
        })
    }
    {
        const list = exported(main)
        const content = list[2].subarray(0, list[2].length - 16)
        list[2] = reseal(main, 2, content, undefined, main.spec[3].key)
        add("tag-under-next-key", main, "each block is checked under its own epoch key K_seq, never a later one", list, {
            index: 2,
            seq: 2,
            code: "tag",
        })
    }
    {
        const list = exported(main)
        list.splice(3, 1)
        add("block-removed", main, "removing a block no gap record declares", list, { index: 3, seq: 4, code: "missing-blocks" })
    }
    {
        const list = exported(main)
        add("no-genesis", main, "the first block is the genesis block", list.slice(1), { index: 0, seq: 1, code: "no-genesis" })
    }
    add("empty", main, "question 3: an empty list fails at index 0, with no seq", [], { index: 0, code: "empty" })
    {
        const list = exported(main).slice(0, -1)
        add(
            "truncated",
            main,
            "question 3: a chain that ends before the known head fails as truncated at index = the list's length, seq = the head's",
            list,
            { index: list.length, seq: mainHead.seq, code: "truncated" },
            { expectedHead: { seq: mainHead.seq, hash: mainHead.hash } }
        )
    }
    add(
        "head-mismatch",
        main,
        "question 3: another hash at the known head's seq fails at the index of the block with that seq",
        exported(main),
        { index: 3, seq: 3, code: "head-mismatch" },
        { expectedHead: { seq: 3, hash: Buffer.alloc(32) } }
    )
    {
        const list = exported(dropped)
        add(
            "head-mismatch-dropped-seq",
            dropped,
            "question 3: a known head at a seq the list skips (dropped) fails at the index of the first block after it",
            list,
            { index: 2, seq: 2, code: "head-mismatch" },
            { expectedHead: { seq: 2, hash: dropped.blocks[2].hash } }
        )
    }
    {
        // Without K_0 nothing is authenticated: an altered v2 block verifies unless a known head catches it.
        const list = exported(main)
        const content = Buffer.from(list[1].subarray(0, list[1].length - 16))
        content[5] ^= 0x01
        list[1] = reseal(main, 1, content, undefined, Buffer.alloc(32))
        add("unkeyed-altered-no-head", main, "without K_0 and without a known head, an altered v2 block is not detected", list, null, {
            withoutKey: true,
        })
        add(
            "unkeyed-altered-known-head",
            main,
            "without K_0, a known head catches any altered v2 block before it (the recomputed head hash differs)",
            list,
            { index: list.length - 1, seq: mainHead.seq, code: "head-mismatch" },
            { withoutKey: true, expectedHead: { seq: mainHead.seq, hash: mainHead.hash } }
        )
    }
    {
        const list = exported(dropped).filter(b => decodeBlock(b).header.type !== 2)
        add("gap-record-removed", dropped, "dropped blocks pass only with the gap record that declares them", list, {
            index: 2,
            seq: 4,
            code: "missing-blocks",
        })
    }
    {
        // The device's next block declares the same range 2..3 again, validly sealed.
        const last = dropped.blocks.length
        const g = dropped.script.steps.find(s => s.gap && s.gap.lostBlocks > 0)!.gap!
        const content = specGap(last, { boot: 3, uptimeMs: 10000 }, interval, { ...g, lastLostHash: dropped.blocks[3].hash })
        const list = [
            ...exported(dropped),
            reseal(dropped, 0, content, dropped.blocks[last - 1].hash, deriveEpochKey(nodeCrypto, dropped.script.key0, id, last)),
        ]
        add(
            "range-declared-twice",
            dropped,
            "question 5: each dropped range is declared by exactly one gap record; a record whose range ends no later than an earlier one's fails as gap",
            list,
            { index: list.length - 1, seq: last, code: "gap" }
        )
    }
    {
        // Block 2 starts at 3 s, before block 1's last reading (4 s): the readings would overlap.
        const content = specData(2, { boot: 1, uptimeMs: 3000 }, interval, steps[2].readings!, V2_CHANNELS.length).content
        const list = [...exported(main).slice(0, 2), reseal(main, 2, content)]
        add("readings-overlap", main, "question 6: a block may not start before the last reading of the block before", list, {
            index: 2,
            seq: 2,
            code: "time",
        })
    }
    {
        // After v2 block 3, a v1 block 4, validly v1-sealed.
        const seq = upgrade.blocks.length
        const link = upgrade.blocks[seq - 1].hash
        const content = specData(seq, { boot: 3, uptimeMs: 1000 }, interval, [[2104, 4004, 10002]], V2_CHANNELS.length, {
            v1Link: link,
        }).content
        const list = [...exported(upgrade), reseal(upgrade, 0, content, link, deriveEpochKey(nodeCrypto, upgrade.script.key0, id, seq))]
        add("v1-after-v2", upgrade, "a chain's versions never go down: a v1 block after a v2 block fails as version", list, {
            index: seq,
            seq,
            code: "version",
        })
    }
    {
        // The successor's genesis block with another previous-chain head: its link is in the tag input.
        const list = exported(dropped)
        const b = Buffer.from(list[0])
        const at = b.indexOf(main.blocks[main.blocks.length - 1].hash)
        if (at < 0) fail("the successor genesis block does not hold main's head")
        b[at] ^= 0x80
        list[0] = b
        add("genesis-link-altered", dropped, "a v2 genesis link is in its body and in its tag input: altering it fails the tag", list, {
            index: 0,
            seq: 0,
            code: "tag",
        })
    }
    return out
}

// ---------------------------------------------------------------------------------------------
// The annotated v2 worked example, produced by walking the bytes as FORMAT.md describes them
// (its own reader, not decodeBlock), then checked against the independent encoder's view.

function bitsOf(bytes: Buffer): string {
    let s = ""
    for (const b of bytes) s += b.toString(2).padStart(8, "0")
    return s
}

/** A byte cursor for the annotator (FORMAT.md's primitives, read directly). */
class Cursor {
    at = 0
    constructor(readonly data: Buffer) {}
    u8(): number {
        return this.data[this.at++]
    }
    varint(): number {
        let v = 0
        let scale = 1
        for (;;) {
            const b = this.data[this.at++]
            v += (b % 128) * scale
            scale *= 128
            if (b < 128) return v
        }
    }
    bytes(n: number): Buffer {
        const out = this.data.subarray(this.at, this.at + n)
        this.at += n
        return out
    }
}

function annotateV2(bytes: Buffer, seq: number): { rows: Row[]; notes: string[] } {
    const rows: Row[] = []
    const notes: string[] = []
    const content = bytes.subarray(0, bytes.length - 16)
    const r = new Cursor(content)
    const field = (name: string, read: () => string) => {
        const start = r.at
        const value = read()
        rows.push({ start, end: r.at, field: name, value })
    }
    const varint = (name: string, describe: (v: number) => string) => field(name, () => describe(r.varint()))
    let type = 0
    let flags = 0
    let count = 0
    field("version", () => String(r.u8()))
    field("type", () => {
        type = r.u8()
        return type + " = " + RECORD_NAMES[type]
    })
    field("flags", () => {
        flags = r.u8()
        const names = []
        if (flags & 1) names.push("bit 0 unix time present")
        if (flags & 2) names.push("bit 1 missing values")
        return "0x0" + flags.toString(16) + (names.length ? ": " + names.join(", ") : ": none")
    })
    varint("seq", v => String(v))
    varint("boot", v => String(v))
    varint("uptimeMs", v => v + " ms")
    if (flags & 1) varint("unixTime", v => v + " s = " + new Date(v * 1000).toISOString())
    varint("intervalMs", v => v + " ms")
    varint("readingCount", v => String((count = v)))
    if (type === 0) {
        field("link", () =>
            r.bytes(32).every(b => b === 0) ? "32 zero bytes: first chain of this device" : "head hash of the previous chain"
        )
        field("deviceId", () => toHex(r.bytes(8)))
        const str = (name: string) => {
            let n = 0
            field(name + " length", () => String((n = r.u8())))
            field(name, () => '"' + r.bytes(n).toString() + '"')
        }
        str("firmware")
        str("board")
        let channels = 0
        field("channelCount", () => String((channels = r.u8())))
        for (let c = 0; c < channels; c++) {
            str("ch" + c + " name")
            str("ch" + c + " unit")
            field("ch" + c + " exponent", () => {
                const e = r.u8() - (content[r.at - 1] >= 128 ? 256 : 0)
                return e + " (i8): value x 10^" + e
            })
        }
    } else if (type === 1) {
        let channels = 0
        field("channelCount", () => String((channels = r.u8())))
        const missing: boolean[] = []
        if (flags & 2) {
            const n = Math.ceil((count * channels) / 8)
            field("missing bitmap", () => {
                const bits = bitsOf(r.bytes(n))
                const groups: string[] = []
                for (let i = 0; i < count; i++) groups.push("r" + i + ":" + bits.slice(i * channels, (i + 1) * channels))
                for (let k = 0; k < count * channels; k++) missing.push(bits[k] === "1")
                const pad = n * 8 - count * channels
                return groups.join(" ") + (pad ? " + " + pad + " zero pad bits" : "")
            })
        }
        const present: number[] = []
        const firsts: number[] = []
        const codes: number[] = []
        for (let c = 0; c < channels; c++) {
            let p = 0
            for (let i = 0; i < count; i++) if (!missing[i * channels + c]) p++
            present.push(p)
            firsts.push(0)
            codes.push(0)
            if (p === 0) {
                notes.push("ch" + c + " (" + V2_CHANNELS[c].name + ") has no present value: no first value, no coding byte")
                continue
            }
            const ch = V2_CHANNELS[c]
            field("ch" + c + " first", () => {
                const z = r.varint()
                firsts[c] = z % 2 === 0 ? z / 2 : -(z + 1) / 2
                return "zigzag " + z + " -> " + firsts[c] + " = " + scaled(firsts[c], ch.exponent) + " " + ch.unit
            })
            field("ch" + c + " coding", () => {
                const code = (codes[c] = r.u8())
                if (p < 2) return code + ": no deltas"
                return code >= SPEC_RICE
                    ? code + " = 64 + " + (code - SPEC_RICE) + ": Rice(" + (code - SPEC_RICE) + ")"
                    : code + ": fixed width, " + code + (code === 1 ? " bit" : " bits") + " per delta"
            })
        }
        const start = r.at
        const stream = bitsOf(r.bytes(content.length - start))
        rows.push({ start, end: content.length, field: "packed deltas", value: content.length - start + " bytes, see below" })
        let at = 0
        for (let c = 0; c < channels; c++) {
            const n = present[c] - 1
            if (n < 1) continue
            const code = codes[c]
            const parts: string[] = []
            const zs: number[] = []
            for (let i = 0; i < n; i++) {
                if (code < SPEC_RICE) {
                    const bits = stream.slice(at, at + code)
                    at += code
                    parts.push(bits)
                    zs.push(code ? parseInt(bits, 2) : 0)
                } else {
                    const k = code - SPEC_RICE
                    let q = 0
                    while (stream[at + q] === "1") q++
                    const low = stream.slice(at + q + 1, at + q + 1 + k)
                    parts.push(stream.slice(at, at + q) + "0" + (k ? "|" + low : ""))
                    at += q + 1 + k
                    zs.push(q * Math.pow(2, k) + (k ? parseInt(low, 2) : 0))
                }
            }
            const deltas = zs.map(z => (z % 2 === 0 ? z / 2 : -(z + 1) / 2))
            const costs = specCodingCosts(zs)
                .map(cst => (cst.code < SPEC_RICE ? "fixed(" + cst.code + ")" : "Rice(" + (cst.code - SPEC_RICE) + ")") + " " + cst.bits)
                .join(", ")
            const how =
                code < SPEC_RICE ? code + (code === 1 ? " bit" : " bits") + " each" : "Rice(" + (code - SPEC_RICE) + "), unary|low bits"
            notes.push(
                "ch" +
                    c +
                    ", " +
                    how +
                    ": " +
                    (code === 0 ? "(no bits)" : parts.join(" ")) +
                    " = zigzag " +
                    zs.join(", ") +
                    " = deltas " +
                    deltas.map(x => (x >= 0 ? "+" : "") + x).join(", ")
            )
            notes.push("  candidates in bits: " + costs)
        }
        const pad = stream.length - at
        if (/1/.test(stream.slice(at))) fail("annotated stream has non-zero padding")
        if (pad) notes.push(pad + " zero bits pad the last byte")
    } else {
        field("reason", () => {
            const v = r.u8()
            return v + " = " + GAP_REASONS[v]
        })
        varint("lostReadings", v => String(v))
        varint("from boot", v => String(v))
        varint("from uptimeMs", v => v + " ms")
        let lost = 0
        let first = 0
        varint("lostBlocks", v => String((lost = v)))
        if (lost > 0) {
            varint("firstLostSeq", v => String((first = v)))
            field("lastLostHash", () => "hash of block " + (first + lost - 1) + " (" + toHex(r.bytes(32)).slice(0, 8) + "...)")
        }
    }
    if (r.at !== content.length) fail("annotator left " + (content.length - r.at) + " bytes of block " + seq)
    rows.push({ start: content.length, end: bytes.length, field: "tag", value: "first 16 bytes of HMAC-SHA256(K_" + seq + ", tag input)" })
    return { rows, notes }
}

function exampleMarkdown(examples: [SealedChainV2, number][]): string {
    const id = deviceId()
    const out: string[] = []
    for (const [chain, seq] of examples) {
        const block = chain.blocks[seq]
        const spec = chain.spec[seq]
        const step = chain.script.steps[seq]
        const linkNote =
            seq === 0
                ? "its own link (the first 32 bytes of its body)"
                : "the hash of block " + (seq - 1) + " (" + toHex(spec.link).slice(0, 8) + "...)"
        const { rows, notes } = annotateV2(block.bytes, seq)
        out.push(
            "#### Block " +
                seq +
                " of v2 chain " +
                chain.script.name +
                " (" +
                RECORD_NAMES[block.type] +
                ", " +
                block.bytes.length +
                " bytes): " +
                step.note
        )
        out.push("")
        out.push(...rowsDump(block.bytes, rows, notes))
        out.push("")
        const n = Buffer.alloc(4)
        n.writeUInt32LE(seq)
        out.push("- K_" + seq + " = `" + toHex(spec.key) + "` (from K_0 = `" + toHex(chain.script.key0) + "`)")
        out.push("- link = " + linkNote + " = `" + toHex(spec.link) + "`")
        out.push(
            "- tag input = ASCII `fieldledger/v2/tag` (`" +
                toHex(Buffer.from("fieldledger/v2/tag")) +
                "`) || device id `" +
                V2_DEVICE_ID_HEX +
                "` || link || the " +
                (block.bytes.length - 16) +
                " bytes above the tag"
        )
        out.push("- tag = `" + toHex(block.bytes.subarray(block.bytes.length - 16)) + "`")
        out.push("- hash = SHA-256(link || whole block) (the next block's link) = `" + toHex(block.hash) + "`")
        out.push(
            "- K_" +
                (seq + 1) +
                " = HMAC-SHA256(K_" +
                seq +
                ", `" +
                toHex(Buffer.concat([Buffer.from("fieldledger/v1/evolve"), id, n])) +
                "`) = `" +
                toHex(specEvolve(spec.key, id, seq)) +
                "`"
        )
        out.push("- whole block: `" + toHex(block.bytes) + "`")
        out.push("")
    }
    return out.join("\n")
}

// ---------------------------------------------------------------------------------------------

export function buildGoldenV2() {
    const id = deviceId()
    const sealed: { [name: string]: SealedChainV2 } = {}
    const chains = []
    for (const script of V2_SCRIPTS) {
        const previous = script.previousChain ? sealed[script.previousChain] : undefined
        const previousHead = previous ? previous.blocks[previous.blocks.length - 1].hash : undefined
        const blocks = sealShared(script, previousHead)
        const spec = sealSpec(script, previousHead)
        const chain: SealedChainV2 = { script, blocks, spec }
        sealed[script.name] = chain
        const out = blocks.map((block, i) => {
            const s = spec[i]
            if (block.seq !== i) fail("seq " + block.seq + " at position " + i)
            if (!block.bytes.equals(s.bytes))
                fail(
                    "chain " +
                        script.name +
                        " block " +
                        i +
                        ": the Ledger's bytes differ from the specification's encoder\n  " +
                        toHex(block.bytes) +
                        "\n  " +
                        toHex(s.bytes)
                )
            if (!block.hash.equals(s.hash) || !specHash(s.link, s.bytes).equals(block.hash))
                fail("chain " + script.name + " block " + i + ": hash")
            if (!deriveEpochKey(nobleCrypto, script.key0, id, i).equals(s.key)) fail("K_" + i + ": two key schedules disagree")
            const d = decodeBlock(block.bytes)
            const v: Record<string, unknown> = {
                seq: block.seq,
                type: RECORD_NAMES[block.type],
                version: d.header.version,
                exported: script.dropped.indexOf(block.seq) < 0,
                note: script.steps[i].note,
                hex: toHex(block.bytes),
                linkHex: toHex(s.link),
                hashHex: toHex(block.hash),
                keyHex: toHex(s.key),
                tagHex: toHex(d.tag),
            }
            if (s.codings) v.codings = s.codings
            v.decoded = decodedJson(d)
            return v
        })
        const exported = blocks.filter(b => script.dropped.indexOf(b.seq) < 0).map(b => b.bytes)
        const report = verifyChain(nobleCrypto, exported, { deviceId: id, key0: script.key0 })
        if (!report.ok) fail("chain " + script.name + " does not verify: " + JSON.stringify(report.failure))
        chains.push({
            name: script.name,
            note: script.note,
            key0: toHex(script.key0),
            intervalMs: script.intervalMs,
            previousChain: script.previousChain || null,
            blocks: out,
            verify: reportJson(report),
        })
    }
    checkCoverage(sealed)
    const golden = {
        description:
            "fieldledger block format v2 golden vectors (docs/FORMAT.md), from tools/gen-vectors.ts: sealed by the shared Ledger and, " +
            "byte for byte the same, by the independent encoder tools/lib/specv2.ts. linkHex: the link each block's tag and hash take. " +
            "codings: each channel's coding byte (null: no present value). exported=false: sealed but dropped from a full backlog. " +
            "malformed: validly tagged under K_seq of chain main (with its link), yet invalid. tampered: chains that fail verification as FORMAT.md says.",
        formatVersion: 2,
        deviceId: V2_DEVICE_ID_HEX,
        firmware: V2_FIRMWARE,
        board: V2_BOARD,
        channels: V2_CHANNELS,
        chains,
        malformed: malformedVectors(sealed.main),
        tampered: tamperedVectors(sealed),
    }
    return {
        golden,
        example: exampleMarkdown([
            [sealed.main, 0],
            [sealed.main, 2],
            [sealed.main, 5],
            [sealed.dropped, 5],
        ]),
    }
}

/** The vectors must hold what FORMAT.md promises they cover; a script edit that loses a case stops the generator. */
function checkCoverage(chains: { [name: string]: SealedChainV2 }) {
    const codes: number[] = []
    for (const c of Object.values(chains)) for (const s of c.spec) if (s.codings) for (const k of s.codings) if (k !== null) codes.push(k)
    const need: [string, (k: number) => boolean][] = [
        ["fixed width 0", k => k === 0],
        ["fixed width 33", k => k === 33],
        ["Rice(0)", k => k === SPEC_RICE],
        ["Rice(k) with k > 1", k => k > SPEC_RICE + 1],
    ]
    for (const [what, test] of need) if (!codes.some(test)) fail("no vector has a channel coded " + what)
    const main2 = chains.main.spec[2].codings!
    if (main2[0] !== 3 || main2[1] !== SPEC_RICE) fail("main block 2 no longer shows the tie rule")
    const full = chains.edges.blocks.find(b => decodeBlock(b.bytes).header.readingCount === 255)
    if (!full) fail("no block of 255 readings")
}

/**
 * Types for golden-v2.ts (DeviceScript compiles it too: no strictNullChecks, noImplicitAny,
 * so every optional and null field is spelled out).
 */
export const TS_PREAMBLE_V2 = `/**
 * Golden vectors of block format v2: the same data as golden-v2.json, generated by
 * tools/gen-vectors.ts (do not edit). A plain typed object literal, so that DeviceScript
 * tests can import it too: no \`as const\`, no BigInt, no spread.
 */

export interface GoldenV2Time {
    boot: number
    uptimeMs: number
    unixTime?: number
}

export interface GoldenV2Channel {
    name: string
    unit: string
    exponent: number
}

export interface GoldenV2Decoded {
    /** link: only where the block stores it (a v1 header, a v2 genesis body). */
    header: { version: number; type: number; flags: number; seq: number; link?: string; time: GoldenV2Time; intervalMs: number; readingCount: number }
    genesis?: { deviceId: string; firmware: string; board: string; channels: GoldenV2Channel[] }
    /** Reading-major; null marks a missing value. */
    readings?: (number | null)[][]
    gap?: { reason: number; reasonName: string; lostReadings: number; from: GoldenV2Time; lostBlocks: number; firstLostSeq: number; lastLostHash?: string }
}

export interface GoldenV2Block {
    seq: number
    type: string
    version: number
    /** False: sealed, then dropped from a full backlog, so absent from the export. */
    exported: boolean
    note: string
    hex: string
    /** The link the block's tag and hash take: the previous block's hash (a genesis block: its own link). */
    linkHex: string
    hashHex: string
    /** K_seq, the epoch key the block is tagged under. */
    keyHex: string
    tagHex: string
    /** Data blocks: each channel's coding byte (0..33 fixed width, 64 + k Rice(k)); null: no present value. */
    codings?: (number | null)[]
    decoded: GoldenV2Decoded
}

export interface GoldenV2Summary {
    deviceId: string
    authenticated: boolean
    blocks: number
    dataBlocks: number
    readings: number
    missingValues: number
    gaps: { seq: number; reason: string; lostReadings: number; lostBlocks: number; firstLostSeq: number }[]
    firmware?: string
    board?: string
    channels?: GoldenV2Channel[]
    previousChainHead?: string
    first?: GoldenV2Time
    last?: GoldenV2Time
    head?: { seq: number; hash: string }
}

export interface GoldenV2Chain {
    name: string
    note: string
    key0: string
    intervalMs: number
    previousChain: string | null
    blocks: GoldenV2Block[]
    verify: { ok: boolean; summary: GoldenV2Summary }
}

export interface GoldenV2Malformed {
    name: string
    seq: number
    hex: string
    rule: string
}

export interface GoldenV2Tampered {
    name: string
    chain: string
    rule: string
    /** K_0 given to the verifier; null: verified without a key. */
    key0: string | null
    expectedHead?: { seq: number; hash: string }
    blocks: string[]
    /** null: accepted. */
    failure: { index: number; seq?: number; code: string } | null
}

export interface GoldenV2Vectors {
    description: string
    formatVersion: number
    deviceId: string
    firmware: string
    board: string
    channels: GoldenV2Channel[]
    chains: GoldenV2Chain[]
    malformed: GoldenV2Malformed[]
    tampered: GoldenV2Tampered[]
}

`
