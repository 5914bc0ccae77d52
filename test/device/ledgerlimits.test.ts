/**
 * The largest data blocks the format allows, sealed and committed within one fiber run's
 * bytecode budget (131,071 ops; over it the VM panics with InfiniteLoop and restarts, which
 * turned a full block into a boot loop). Each case feeds readings one per fiber run, as the
 * sampler does, until the ledger seals on its own: at 255 readings, or when the next reading
 * would not fit 200 bytes. Then, with no sleep in between:
 * - the seal and the commit up to its first flash write (decode + tag check);
 * - the checkpoint of the fullest open block (openContent) and its decode;
 * - the boot after a reset: openChain restores that checkpoint and seals it and a gap record,
 *   and the first commit follows.
 * 1, 3 and 8 channels; delta widths 0 (constant values), 1, 2 and 4; with and without a
 * missing-value bitmap. A panic fails the file (the runner counts a crash as a failure).
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/crypto"
import { decodeBlock, decodeContent, newChainHead, SealedBlock } from "../../src/lib/chain"
import { ChainStore, HEAD_KEY, OPEN_KEY } from "../../src/lib/chainstore"
import { ChannelSpec, MAX_BLOCK_BYTES, MAX_READINGS_PER_BLOCK } from "../../src/lib/format"
import { Ledger } from "../../src/lib/ledger"
import { MISSING, Reading } from "../../src/lib/readings"
import { openChain } from "../../src/lib/recovery"
import { settingsStore } from "../../src/settingsstore"

const deviceId = Buffer.from("12abdd2289421234", "hex")
/** One reading every 10 s: a 255-reading block is 42 minutes, within the default 1-hour age. */
const INTERVAL_MS = 10000

interface LimitCase {
    channels: number
    /** Delta width of every channel (0: constant values). */
    width: number
    /** Every 7th value (reading-major) missing: a bitmap in every block. */
    missing: boolean
    /** Readings in the block the ledger seals (255, or the most that fit 200 bytes). */
    readings: number
}

// Counts from the format (header 45 B at seq 1 with these times, tag 16 B): 255 where the
// size allows, else the largest count that fits.
const CASES: LimitCase[] = [
    { channels: 1, width: 0, missing: false, readings: 255 },
    { channels: 1, width: 0, missing: true, readings: 255 },
    { channels: 1, width: 1, missing: false, readings: 255 },
    { channels: 1, width: 1, missing: true, readings: 255 },
    { channels: 1, width: 2, missing: false, readings: 255 },
    { channels: 1, width: 2, missing: true, readings: 255 },
    { channels: 1, width: 4, missing: false, readings: 255 },
    { channels: 1, width: 4, missing: true, readings: 248 },
    { channels: 3, width: 0, missing: false, readings: 255 },
    { channels: 3, width: 0, missing: true, readings: 255 },
    { channels: 3, width: 1, missing: false, readings: 255 },
    { channels: 3, width: 1, missing: true, readings: 188 },
    { channels: 3, width: 2, missing: false, readings: 175 },
    { channels: 3, width: 2, missing: true, readings: 128 },
    { channels: 3, width: 4, missing: false, readings: 89 },
    { channels: 3, width: 4, missing: true, readings: 80 },
    { channels: 8, width: 0, missing: false, readings: 255 },
    { channels: 8, width: 0, missing: true, readings: 117 },
    { channels: 8, width: 1, missing: false, readings: 118 },
    { channels: 8, width: 1, missing: true, readings: 63 },
    { channels: 8, width: 2, missing: false, readings: 59 },
    { channels: 8, width: 2, missing: true, readings: 43 },
    { channels: 8, width: 4, missing: false, readings: 30 },
    { channels: 8, width: 4, missing: true, readings: 27 },
]

function key0(): Buffer {
    const k = Buffer.alloc(32)
    for (let i = 0; i < 32; i++) k[i] = 0x20 + i
    return k
}

function specs(n: number): ChannelSpec[] {
    const out: ChannelSpec[] = []
    for (let c = 0; c < n; c++) out.push({ name: "c" + c, unit: "u", exponent: 0 })
    return out
}

function label(c: LimitCase): string {
    return c.channels + " ch, width " + c.width + (c.missing ? ", missing values" : "") + ", " + c.readings + " readings"
}

/** Reading i of a case: every present value steps by 2^(width-1) down, so each delta needs exactly `width` bits. */
function readingSource(c: LimitCase): (i: number) => Reading {
    const present: number[] = []
    for (let ch = 0; ch < c.channels; ch++) present.push(0)
    const step = c.width === 0 ? 0 : 1 << (c.width - 1)
    return (i: number) => {
        const r: Reading = []
        for (let ch = 0; ch < c.channels; ch++) {
            if (c.missing && (i * c.channels + ch) % 7 === 3) r.push(MISSING)
            else {
                r.push(1000 * (ch + 1) - present[ch] * step)
                present[ch]++
            }
        }
        return r
    }
}

function at(i: number) {
    return { boot: 0, uptimeMs: 1000 + i * INTERVAL_MS }
}

/** A fresh chain in flash with its genesis block committed, and the ledger that continues it. */
async function freshChain(c: LimitCase): Promise<{ store: ChainStore; ledger: Ledger }> {
    await settingsStore.delete(OPEN_KEY)
    const store = new ChainStore(settingsStore, deviceCrypto, deviceId)
    await store.create(newChainHead(key0()), 0)
    const ledger = new Ledger(deviceCrypto, deviceId, specs(c.channels), newChainHead(key0()), { intervalMs: INTERVAL_MS })
    const genesis = ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "test", "simulator")
    await store.commit(genesis.bytes, genesis.seq)
    return { store, ledger }
}

function expectReadings(got: Reading[], want: Reading[]) {
    expect(got.length).toBe(want.length)
    for (let i = 0; i < want.length; i++) for (let c = 0; c < want[i].length; c++) expect(got[i][c]).toBe(want[i][c])
}

/** Appends readings one per fiber run until the ledger seals; the seal and the commit share one run. */
async function sealFullBlock(c: LimitCase) {
    const { store, ledger } = await freshChain(c)
    const next = readingSource(c)
    const taken: Reading[] = []
    let block: SealedBlock = undefined
    for (let i = 0; i <= MAX_READINGS_PER_BLOCK && !block; i++) {
        const reading = next(i)
        await ds.sleep(0)
        const sealed = ledger.append(reading, at(i))
        if (sealed.length > 0) {
            block = sealed[0]
            await store.commit(block.bytes, block.seq)
        }
        // Sealed at the count limit, the block holds this reading; sealed for size, the next one does.
        if (sealed.length === 0 || ledger.openReadings().length === 0) taken.push(reading)
    }
    expect(!!block).toBe(true)
    expect(block.bytes.length <= MAX_BLOCK_BYTES).toBe(true)
    const stored = decodeBlock(await store.readBlock(block.seq))
    if (stored.header.readingCount !== c.readings) console.log("fl:test " + label(c) + ": sealed " + stored.header.readingCount)
    expect(stored.header.readingCount).toBe(c.readings)
    expectReadings(stored.readings, taken.slice(0, c.readings))
}

/** The fullest open block: checkpointed, then restored and sealed at boot, and committed. */
async function recoverFullBlock(c: LimitCase) {
    const { store, ledger } = await freshChain(c)
    const next = readingSource(c)
    // A block sealed at 255 readings is never open with 255; one sealed for size is.
    const open = c.readings === MAX_READINGS_PER_BLOCK ? c.readings - 1 : c.readings
    const taken: Reading[] = []
    for (let i = 0; i < open; i++) {
        const reading = next(i)
        taken.push(reading)
        await ds.sleep(0)
        expect(ledger.append(reading, at(i)).length).toBe(0)
    }
    await ds.sleep(0)
    const content = ledger.openContent()
    expect(decodeContent(content).header.readingCount).toBe(open)
    await store.checkpoint(content)
    await ds.sleep(0)
    const chain = await openChain({
        store,
        crypto: deviceCrypto,
        deviceId,
        channels: specs(c.channels),
        ledger: { intervalMs: INTERVAL_MS },
        firmwareVersion: "test",
        board: "simulator",
        checkpointEvery: 10,
        newKey: async () => key0(),
        uptimeMs: () => 5000,
        onSealed: async () => {},
    })
    expect(chain.recovered.length).toBe(2)
    for (const b of chain.recovered) await store.commit(b.bytes, b.seq)
    const restored = decodeBlock(await store.readBlock(chain.recovered[0].seq))
    expectReadings(restored.readings, taken)
    await settingsStore.delete(OPEN_KEY)
}

describe("largest blocks within one fiber run's op budget", () => {
    test("seals and commits every worst-case block as the sampler fills it", async () => {
        await settingsStore.delete(HEAD_KEY)
        for (const c of CASES) {
            console.log("fl:test seal " + label(c))
            await sealFullBlock(c)
        }
    })

    test("checkpoints the fullest open block, restores and seals it at boot, and commits it", async () => {
        for (const c of CASES) {
            console.log("fl:test recover " + label(c))
            await recoverFullBlock(c)
        }
    })
})
