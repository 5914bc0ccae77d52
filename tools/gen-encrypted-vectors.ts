/**
 * Golden vectors of encrypted data blocks (format v2, flag bit 2; docs/FORMAT.md, "Encrypted
 * readings"): test/vectors/golden-encrypted.json and the same data as a typed object literal,
 * test/vectors/golden-encrypted.ts, that DeviceScript tests can import.
 *
 *     npx tsx tools/gen-encrypted-vectors.ts           write both files
 *     npx tsx tools/gen-encrypted-vectors.ts --check   exit 1 if either differs from what it would write
 *
 * Independent of src/lib for what it writes: blocks from the spec encoder (tools/lib/specv2.ts),
 * the data key schedule, nonce and counter block written out here from FORMAT.md, and the
 * readings part encrypted with node:crypto `aes-256-ctr`. It then checks that src/lib decodes
 * every block, shows its readings encrypted, and decrypts them to the readings it was given.
 */
import { createCipheriv, createHmac } from "node:crypto"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { decodeBlock } from "../src/lib/ledger/chain"
import { decryptReadings } from "../src/lib/ledger/datakey"
import { nodeAesCcm0 } from "./lib/aes"
import { runGenerator } from "./lib/generated"
import { SpecChannel, SpecReading, SpecTime, specData, specEvolve, specGenesis, specHeader, specSeal } from "./lib/specv2"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..")
const JSON_PATH = "test/vectors/golden-encrypted.json"
const TS_PATH = "test/vectors/golden-encrypted.ts"

const HELP = `Usage: npx tsx tools/gen-encrypted-vectors.ts [--check]

Writes ${JSON_PATH} and ${TS_PATH}; with --check, writes nothing and exits 1 if either is not
what it would write.`

const hex = (b: Buffer) => b.toString("hex")

function u32le(n: number): Buffer {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(n)
    return b
}

// ---- from docs/FORMAT.md, "Encrypted readings" ----
const DATA_EVOLVE_LABEL = Buffer.from("fieldledger/v2/data-evolve")
/** D_(n+1) = HMAC-SHA256(D_n, "fieldledger/v2/data-evolve" || deviceId || u32le(n)). */
const dataKeyAfter = (key: Buffer, deviceId: Buffer, seq: number) =>
    createHmac("sha256", key).update(DATA_EVOLVE_LABEL).update(deviceId).update(u32le(seq)).digest()
/** nonce = 0x02 || deviceId || u32le(seq). */
const nonceOf = (deviceId: Buffer, seq: number) => Buffer.concat([Buffer.from([2]), deviceId, u32le(seq)])
/** CCM's counter block A_1 = flags 0x01 (L = 2) || nonce || 0x0001: the CTR initial counter. */
const counterBlock1 = (nonce: Buffer) => Buffer.concat([Buffer.from([1]), nonce, Buffer.from([0, 1])])
const ctr = (key: Buffer, iv: Buffer, data: Buffer) => {
    const c = createCipheriv("aes-256-ctr", key, iv)
    return Buffer.concat([c.update(data), c.final()])
}

const DEVICE_ID = Buffer.from("e2c1a0f4d5b60718", "hex")
const KEY0 = Buffer.from("7c1e9d2a4b8f60355ad3e1f20c9b7a6d5e4f30218c7b6a594837261504f3e2d1", "hex")
const DATA_KEY0 = Buffer.from("d00a5e1fc3b2a19087f6e5d4c3b2a1900f1e2d3c4b5a69788796a5b4c3d2e1f0", "hex")
const INTERVAL = 60000
const CHANNELS: SpecChannel[] = [
    { name: "temperature", unit: "degC", exponent: -2 },
    { name: "humidity", unit: "%RH", exponent: -1 },
    { name: "pressure", unit: "hPa", exponent: -1 },
]

interface Step {
    note: string
    time: SpecTime
    readings?: SpecReading[]
}

/** 40 readings whose readings part spans several AES blocks (the counter goes past 1). */
const long: SpecReading[] = []
for (let i = 0; i < 40; i++) long.push([2150 + ((i * 37) % 23) - 11, 455 + (i % 7), 10132 - i])

const STEPS: Step[] = [
    { note: "genesis (never encrypted: it has no readings)", time: { boot: 1, uptimeMs: 1000 } },
    {
        note: "encrypted: 3 readings, one value missing (the bitmap stays in clear)",
        time: { boot: 1, uptimeMs: 2000, unixTime: 1767225600 },
        readings: [
            [2150, 455, 10132],
            [2161, null, 10131],
            [2149, 457, 10131],
        ],
    },
    {
        note: "encrypted: one reading, readings part under one AES block",
        time: { boot: 1, uptimeMs: 182000, unixTime: 1767225780 },
        readings: [[-1234, 1000, 9870]],
    },
    {
        note: "encrypted: a channel with no present value (no first value, no coding byte)",
        time: { boot: 1, uptimeMs: 242000, unixTime: 1767225840 },
        readings: [
            [2200, null, 10100],
            [2201, null, 10101],
        ],
    },
    { note: "encrypted: 40 readings, readings part over several AES blocks", time: { boot: 2, uptimeMs: 500 }, readings: long },
]

interface EncryptedVector {
    seq: number
    note: string
    link: string
    epochKey: string
    dataKey: string
    nonce?: string
    counterBlock?: string
    plainContent: string
    readingsAt?: number
    block: string
    hash: string
    readings?: SpecReading[]
}

function build(): EncryptedVector[] {
    const out: EncryptedVector[] = []
    let link: Buffer = Buffer.alloc(32)
    let key: Buffer = KEY0
    let dataKey: Buffer = DATA_KEY0
    for (let seq = 0; seq < STEPS.length; seq++) {
        const step = STEPS[seq]
        const v: Partial<EncryptedVector> = { seq, note: step.note, link: hex(link), epochKey: hex(key), dataKey: hex(dataKey) }
        let content: Buffer
        if (!step.readings) {
            content = specGenesis(step.time, INTERVAL, link, DEVICE_ID, "fieldledger/0.2.0", "simulator", CHANNELS)
            v.plainContent = hex(content)
        } else {
            const plain = specData(seq, step.time, INTERVAL, step.readings, CHANNELS.length).content
            v.plainContent = hex(plain)
            content = specData(seq, step.time, INTERVAL, step.readings, CHANNELS.length, { extraFlags: 0x04 }).content
            // The readings part: after the header, the channel count and the bitmap (readings x channels bits).
            const missing = step.readings.some(r => r.some(x => x === null))
            const headerLength = specHeader(1, seq, step.time, INTERVAL, step.readings.length, missing, { extraFlags: 0x04 }).length
            const at = headerLength + 1 + (missing ? Math.ceil((step.readings.length * CHANNELS.length) / 8) : 0)
            const nonce = nonceOf(DEVICE_ID, seq)
            const iv = counterBlock1(nonce)
            content = Buffer.concat([content.subarray(0, at), ctr(dataKey, iv, content.subarray(at))])
            Object.assign(v, { nonce: hex(nonce), counterBlock: hex(iv), readingsAt: at, readings: step.readings })
        }
        const { bytes, hash } = specSeal(key, DEVICE_ID, link, content)
        v.block = hex(bytes)
        v.hash = hex(hash)
        out.push(v as EncryptedVector)
        link = hash
        key = specEvolve(key, DEVICE_ID, seq)
        dataKey = dataKeyAfter(dataKey, DEVICE_ID, seq)
    }
    return out
}

/** src/lib must decode every block, keep the values hidden, and decrypt them to the readings given. */
function crossCheck(chain: EncryptedVector[]) {
    for (const v of chain) {
        const block = decodeBlock(Buffer.from(v.block, "hex"))
        if (!v.readings) continue
        if (block.bodyAt === undefined || block.readings) throw new Error("seq " + v.seq + ": src/lib does not see an encrypted block")
        const got = decryptReadings(nodeAesCcm0, Buffer.from(v.dataKey, "hex"), DEVICE_ID, block)
        if (JSON.stringify(got) !== JSON.stringify(v.readings)) throw new Error("seq " + v.seq + ": src/lib decrypts other readings")
    }
}

const chain = build()
crossCheck(chain)
const doc = {
    description:
        "Encrypted v2 data blocks (flag bit 2, docs/FORMAT.md 'Encrypted readings'), generated by tools/gen-encrypted-vectors.ts with node:crypto aes-256-ctr.",
    deviceId: hex(DEVICE_ID),
    key0: hex(KEY0),
    dataKey0: hex(DATA_KEY0),
    intervalMs: INTERVAL,
    chain,
}
const json = JSON.stringify(doc, null, 4) + "\n"
const ts = `/**
 * Golden vectors of encrypted data blocks: the same data as golden-encrypted.json, generated by
 * tools/gen-encrypted-vectors.ts (do not edit). A plain object literal, so that DeviceScript
 * tests can import it too.
 */

export interface GoldenEncryptedBlock {
    seq: number
    note: string
    link: string
    epochKey: string
    dataKey: string
    nonce?: string
    counterBlock?: string
    plainContent: string
    readingsAt?: number
    block: string
    hash: string
    readings?: (number | null)[][]
}

export const goldenEncryptedChain: GoldenEncryptedBlock[] = ${JSON.stringify(chain, null, 4)}

export const goldenEncryptedDeviceId = ${JSON.stringify(doc.deviceId)}
export const goldenEncryptedKey0 = ${JSON.stringify(doc.key0)}
export const goldenEncryptedDataKey0 = ${JSON.stringify(doc.dataKey0)}
`

runGenerator("tools/gen-encrypted-vectors.ts", HELP, ROOT, [
    [JSON_PATH, json],
    [TS_PATH, ts],
])
