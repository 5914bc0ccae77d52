/**
 * The largest data blocks of format v2, sealed and committed within one fiber run's bytecode
 * budget (131,071 ops; over it the VM panics with InfiniteLoop and restarts, which turned a full
 * block into a boot loop). Each case feeds readings one per fiber run, as the sampler does,
 * until the ledger seals on its own: on the device's cap of values a block, or when the next
 * reading would not fit 200 bytes. Then, with no sleep in between:
 * - the seal and the commit up to its first flash write (decode + tag check);
 * - the checkpoint of the fullest open block (openContent) and its decode;
 * - the boot after a reset: openChain restores that checkpoint and seals it and a gap record;
 *   after one suspension (src/device/device.ts) the commits follow.
 * The cases (test/device/helpers/limitcases.ts) are 1, 3 and 8 channels at fixed widths 0 to
 * 20 and Rice-coded, with and without a missing-value bitmap: some sealed on the cap (the most
 * values, the costliest in ops), some on their v2 size below it. Each asserts the exact count;
 * test/node/lib/ledger/limitcases.test.ts derives the counts from docs/FORMAT.md with the
 * independent encoder, so a v2 size limit off by one reading fails here. A panic fails the file
 * (the runner counts a crash as a failure).
 */
import * as ds from "@devicescript/core"
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { decodeBlock, decodeContent, newChainHead, SealedBlock } from "../../src/lib/ledger/chain"
import { ChainStore } from "../../src/lib/store/chainstore"
import { HEAD_KEY, OPEN_KEY } from "../../src/lib/flash/keys"
import { DEFAULT_MAX_VALUES_PER_BLOCK } from "../../src/lib/store/defaults"
import { ChannelSpec, MAX_BLOCK_BYTES, MAX_READINGS_PER_BLOCK } from "../../src/lib/codec/format"
import { Ledger } from "../../src/lib/ledger/ledger"
import { Reading } from "../../src/lib/codec/readings"
import { openChain } from "../../src/lib/store/recovery"
import { settingsStore } from "../../src/device/settingsstore"
import { LIMIT_CASES, LIMIT_INTERVAL_MS, LimitCase, limitExpected, limitReadings, limitTime } from "./helpers/limitcases"

const deviceId = Buffer.from("12abdd2289421234", "hex")
const LEDGER_OPTIONS = { intervalMs: LIMIT_INTERVAL_MS, maxValuesPerBlock: DEFAULT_MAX_VALUES_PER_BLOCK }
const CASES = LIMIT_CASES

/** K_0 of one case: each case its own chain, so flash left by another case is never adopted as ours. */
function key0(c: LimitCase): Buffer {
    const k = Buffer.alloc(32)
    for (let i = 0; i < 32; i++) k[i] = 0x20 + i
    k[0] = CASES.indexOf(c)
    return k
}

function specs(n: number): ChannelSpec[] {
    const out: ChannelSpec[] = []
    for (let c = 0; c < n; c++) out.push({ name: "c" + c, unit: "u", exponent: 0 })
    return out
}

/** Readings in the block the device seals: the format's count, or fewer under the values cap. */
function expected(c: LimitCase): number {
    return limitExpected(c, DEFAULT_MAX_VALUES_PER_BLOCK)
}

/** Whether the ledger seals the block on its reading count (with the reading that fills it), not on its size. */
function sealedOnCount(c: LimitCase): boolean {
    return expected(c) < c.readings || c.readings === MAX_READINGS_PER_BLOCK
}

function label(c: LimitCase): string {
    return (
        c.channels +
        " ch, width " +
        c.width +
        (c.rice ? " (Rice)" : "") +
        (c.missing ? ", missing values" : "") +
        ", " +
        expected(c) +
        " readings (format: " +
        c.readings +
        ")"
    )
}

/** A fresh chain in flash with its genesis block committed, and the ledger that continues it. */
async function freshChain(c: LimitCase): Promise<{ store: ChainStore; ledger: Ledger }> {
    await settingsStore.delete(OPEN_KEY)
    const store = new ChainStore(settingsStore, deviceCrypto, deviceId)
    await store.create(newChainHead(key0(c)), 0)
    const ledger = new Ledger(deviceCrypto, deviceId, specs(c.channels), newChainHead(key0(c)), LEDGER_OPTIONS)
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
    const next = limitReadings(c)
    const taken: Reading[] = []
    let block: SealedBlock = undefined
    for (let i = 0; i <= MAX_READINGS_PER_BLOCK && !block; i++) {
        const reading = next(i)
        await ds.sleep(0)
        const sealed = ledger.append(reading, limitTime(i))
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
    if (stored.header.readingCount !== expected(c)) console.log("fl:test " + label(c) + ": sealed " + stored.header.readingCount)
    expect(stored.header.readingCount).toBe(expected(c))
    expectReadings(stored.readings, taken.slice(0, expected(c)))
}

/** The fullest open block: checkpointed, then restored and sealed at boot, and committed. */
async function recoverFullBlock(c: LimitCase) {
    const { store, ledger } = await freshChain(c)
    const next = limitReadings(c)
    // A block sealed on its count is never open with that many readings; one sealed for size is.
    const open = sealedOnCount(c) ? expected(c) - 1 : expected(c)
    const taken: Reading[] = []
    for (let i = 0; i < open; i++) {
        const reading = next(i)
        taken.push(reading)
        await ds.sleep(0)
        expect(ledger.append(reading, limitTime(i)).length).toBe(0)
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
        ledger: LEDGER_OPTIONS,
        firmwareVersion: "test",
        board: "simulator",
        checkpointEvery: 10,
        newKey: async () => key0(c),
        uptimeMs: () => 5000,
        onSealed: async () => {},
    })
    expect(chain.recovered.length).toBe(2)
    // As src/device/device.ts does: one suspension between the restore and the commits.
    await ds.sleep(0)
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
