import { timerPause } from "../../../../tools/lib/pause"
import { describe, expect, test } from "vitest"
import { decodeBlock, newChainHead } from "../../../../src/lib/ledger/chain"
import { ChainStore, decodeHead, encodeHead, StoredHead } from "../../../../src/lib/store/chainstore"
import { GENESIS_KEY, HEAD_KEY } from "../../../../src/lib/flash/keys"
import { StorageError } from "../../../../src/lib/flash/verified"
import { Ledger } from "../../../../src/lib/ledger/ledger"
import { startBacklog } from "../../../../src/lib/store/backlog"
import { verifyChain } from "../../../../src/lib/ledger/verify"
import { nodeCrypto } from "../../../../tools/lib/crypto"
import { MemoryStore, PowerCut } from "../../helpers/memorystore"
import { openTestChain, startTestBacklog } from "../../helpers/openchain"

const crypto = nodeCrypto
const deviceId = Buffer.from("12abdd2289421234", "hex")
const key0 = () => Buffer.alloc(32, 0x5a)
const channels = [
    { name: "t", unit: "degC", exponent: -2 },
    { name: "h", unit: "%RH", exponent: -2 },
]
const INTERVAL = 1000
const CHECKPOINT_EVERY = 4

/** A device as the firmware runs it: boot (create or load), then readings, seals and checkpoints. */
class Device {
    store: ChainStore
    ledger!: Ledger
    boot = 0
    uptime = 0
    appended = 0

    constructor(readonly kv: MemoryStore) {
        this.store = new ChainStore(kv, crypto, deviceId, 22)
    }

    async commit(blocks: readonly { bytes: Buffer; seq: number }[]) {
        for (const b of blocks) await this.store.commit(b.bytes, b.seq)
    }

    async start() {
        const opened = await openTestChain({
            store: this.store,
            crypto,
            deviceId,
            channels,
            ledger: { intervalMs: INTERVAL, maxReadingsPerBlock: 10 },
            checkpointEvery: CHECKPOINT_EVERY,
            key: key0,
        })
        this.ledger = opened.ledger
        this.boot = opened.boot
        await this.commit(opened.recovered)
        this.uptime = 1000
    }

    async read(n: number) {
        for (let i = 0; i < n; i++) {
            await this.commit(this.ledger.append([this.appended, -this.appended], { boot: this.boot, uptimeMs: this.uptime }))
            this.appended++
            this.uptime += INTERVAL
            if (this.appended % CHECKPOINT_EVERY === 0) await this.store.checkpoint(this.ledger.openContent())
        }
    }

    chain(): Promise<Buffer[]> {
        return storedChain(this.store)
    }
}

/** Every block the store still holds, in seq order. */
async function storedChain(store: ChainStore): Promise<Buffer[]> {
    const blocks: Buffer[] = []
    for (let s = 0; s < store.currentHead().seq; s++) {
        const b = await store.readBlock(s)
        if (b) blocks.push(b)
    }
    return blocks
}

describe("chain store", () => {
    test("stores the head and restores it after a restart", async () => {
        const kv = new MemoryStore()
        const a = new Device(kv)
        await a.start()
        await a.read(25)
        const b = new Device(kv)
        await b.start()
        expect(b.boot).toBe(1)
        expect(b.store.currentHead().seq).toBe(a.store.currentHead().seq + 2) // checkpointed block + power-loss record
        await b.read(10)
        const report = verifyChain(crypto, await b.chain(), { deviceId, key0: key0() })
        expect(report.failure).toBeUndefined()
    })

    test("encodes and decodes the head, rejecting a loss range that does not fit the backlog", () => {
        const head = {
            seq: 9,
            link: Buffer.alloc(32, 1),
            key: Buffer.alloc(32, 2),
            boot: 3,
            oldestSeq: 5,
            loss: { fromSeq: 2, toSeq: 4, readings: 30, from: { boot: 1, uptimeMs: 7 } },
        }
        expect(decodeHead(encodeHead(head))).toEqual(head)
        expect(() => encodeHead({ ...head, loss: { ...head.loss, toSeq: 3 } })).toThrow(RangeError)
    })

    test("a power cut at any write leaves a chain that verifies, seals no seq twice, and loses at most one checkpoint interval", async () => {
        const probe = new MemoryStore()
        const dry = new Device(probe)
        await dry.start()
        await dry.read(40)
        const totalWrites = probe.writes
        for (let cut = 0; cut <= totalWrites; cut++) {
            const kv = new MemoryStore()
            kv.cutAfter = cut
            const before = new Device(kv)
            try {
                await before.start()
                await before.read(40)
            } catch (e) {
                if (!(e instanceof PowerCut)) throw e
            }
            kv.cutAfter = Infinity
            const after = new Device(kv)
            await after.start()
            await after.read(12)
            const report = verifyChain(crypto, await after.chain(), { deviceId, key0: key0() })
            expect(report.failure, "cut after write " + cut).toBeUndefined()
            // Slots are reused, so group everything ever written to them by the seq inside.
            const sealed = new Map<number, Buffer>()
            for (const [key, values] of kv.history) {
                if (!key.startsWith("fb") && key !== GENESIS_KEY) continue
                for (const v of values) {
                    const seq = decodeBlock(v).header.seq
                    expect(sealed.get(seq)?.equals(v) ?? true, "seq " + seq + " sealed twice with different content").toBe(true)
                    sealed.set(seq, v)
                }
            }
            // A cut loses the readings since the last checkpoint that reached flash: fewer
            // than CHECKPOINT_EVERY, or exactly that many if the cut hit the checkpoint itself.
            const kept = report.summary.readings + after.ledger.openReadings().length - 12
            expect(before.appended - kept, "cut after write " + cut).toBeLessThanOrEqual(CHECKPOINT_EVERY)
        }
    })

    test("refuses a commit the full store silently dropped, and keeps the old head", async () => {
        const kv = new MemoryStore(1200)
        const d = new Device(kv)
        await d.start()
        await expect(d.read(200)).rejects.toThrow(StorageError)
        const again = new ChainStore(kv, crypto, deviceId)
        const loaded = await again.load()
        expect(loaded!.head.seq).toBeLessThanOrEqual(d.store.currentHead().seq)
        expect(decodeHead((await kv.get(HEAD_KEY))!).seq).toBe(loaded!.head.seq)
    })

    test("drops the oldest blocks, never the genesis, and one gap record declares all that was dropped", async () => {
        const kv = new MemoryStore()
        const d = new Device(kv)
        await d.start()
        await d.read(60) // genesis + 6 blocks of 10
        const first = await d.store.dropOldest(2)
        expect(first).toMatchObject({ firstLostSeq: 1, lostBlocks: 2, lostReadings: 20 })
        await d.read(20)
        const second = await d.store.dropOldest(2)
        expect(second).toMatchObject({ firstLostSeq: 1, lostBlocks: 4, lostReadings: 40 })
        for (const block of d.ledger.sealGap(second!, { boot: 0, uptimeMs: d.uptime })) await d.store.commit(block.bytes, block.seq)
        const report = verifyChain(crypto, await d.chain(), { deviceId, key0: key0() })
        expect(report.failure).toBeUndefined()
        expect(report.summary.gaps).toEqual([
            { seq: d.store.currentHead().seq - 1, reason: "backlog-full", lostReadings: 40, lostBlocks: 4, firstLostSeq: 1 },
        ])
        expect(await d.store.readBlock(0)).toBeDefined()
        expect(await d.store.readBlock(3)).toBeUndefined()
    })

    test("an earlier gap record inside a later, wider declared loss still verifies", async () => {
        const kv = new MemoryStore()
        const d = new Device(kv)
        await d.start()
        await d.read(30)
        await d.store.acknowledge(0)
        const gap1 = await d.store.dropOldest(1)
        for (const block of d.ledger.sealGap(gap1!, { boot: 0, uptimeMs: d.uptime })) await d.store.commit(block.bytes, block.seq)
        await d.read(30)
        const gap2 = await d.store.dropOldest(2)
        expect(gap2).toMatchObject({ firstLostSeq: 1, lostBlocks: 3 })
        for (const block of d.ledger.sealGap(gap2!, { boot: 0, uptimeMs: d.uptime })) await d.store.commit(block.bytes, block.seq)
        const genesis = kv.history.get(GENESIS_KEY)![0]
        const report = verifyChain(crypto, [genesis, ...(await d.chain())], { deviceId, key0: key0() })
        expect(report.failure).toBeUndefined()
        expect(report.summary.gaps.map(g => g.lostBlocks)).toEqual([1, 3])
    })

    test("an acknowledgement past the pending loss settles it and releases the slots", async () => {
        const kv = new MemoryStore()
        const d = new Device(kv)
        await d.start()
        await d.read(40)
        await d.store.dropOldest(2)
        const head = d.store.currentHead()
        await d.store.acknowledge(head.seq - 2)
        expect(d.store.currentHead().loss).toBeUndefined()
        expect(d.store.backlogBlocks()).toBe(1)
        expect(await d.store.readBlock(0)).toBeUndefined()
    })
})

describe("a head from firmware before v2", () => {
    /** The head as that firmware wrote it: version 1, no baseLink and no flag for it. */
    const v1Head = (head: StoredHead) => {
        const bytes = encodeHead({ ...head, baseLink: undefined })
        return Buffer.concat([Buffer.from([1]), bytes.subarray(1, bytes.length - 1)])
    }

    test("still loads; its v1 backlog is dropped with the right lastLostHash, and v2 blocks follow with baseLink", async () => {
        const kv = new MemoryStore()
        const store = new ChainStore(kv, crypto, deviceId, 22)
        await store.create(newChainHead(key0()), 0)
        const v1 = new Ledger(crypto, deviceId, channels, newChainHead(key0()), { intervalMs: INTERVAL, formatVersion: 1 })
        const sealed = [v1.sealGenesis({ boot: 0, uptimeMs: 0 }, "fw", "test")]
        for (let i = 0; i < 4; i++) {
            v1.append([i, -i], { boot: 0, uptimeMs: 1000 + 2000 * i })
            sealed.push(v1.sealOpen()!)
        }
        for (const b of sealed) await store.commit(b.bytes, b.seq)
        await kv.set(HEAD_KEY, v1Head(decodeHead((await kv.get(HEAD_KEY))!)))

        const reopened = new ChainStore(kv, crypto, deviceId, 22)
        const loaded = (await reopened.load())!
        expect(loaded.head.seq).toBe(5)
        // A backlog of blocks 1..4: no base yet, and none needed to hash v1 blocks.
        expect(loaded.head.baseLink).toBeUndefined()
        expect(await reopened.blockHash(3)).toEqual(sealed[3].hash)
        const gap = (await reopened.dropOldest(2))!
        expect(gap).toMatchObject({ firstLostSeq: 1, lostBlocks: 2, lastLostHash: sealed[2].hash })
        expect(reopened.currentHead().baseLink).toEqual(sealed[2].hash)

        // The updated firmware seals v2 from the stored head; the head it writes is version 2.
        const h = reopened.currentHead()
        const v2 = new Ledger(
            crypto,
            deviceId,
            channels,
            { seq: h.seq, link: Buffer.from(h.link), key: Buffer.from(h.key) },
            { intervalMs: INTERVAL }
        )
        const gapBlock = v2.sealGap(gap, { boot: 1, uptimeMs: 10 })[0]
        v2.append([9, 9], { boot: 1, uptimeMs: 1000 })
        const data = v2.sealOpen()!
        for (const b of [gapBlock, data]) await reopened.commit(b.bytes, b.seq)
        expect((await kv.get(HEAD_KEY))![0]).toBe(2)
        await reopened.acknowledge(5)
        expect(reopened.currentHead().baseLink).toEqual(gapBlock.hash)
        expect(await reopened.blockHash(6)).toEqual(data.hash)
        const exported = [sealed[0], sealed[3], sealed[4], gapBlock, data].map(b => b.bytes)
        expect(verifyChain(crypto, exported, { deviceId, key0: key0() }).failure).toBeUndefined()
    })

    test("with an empty backlog, takes the head's link as the base", () => {
        const head = { seq: 4, link: Buffer.alloc(32, 1), key: Buffer.alloc(32, 2), boot: 3, oldestSeq: 4 }
        expect(decodeHead(v1Head(head))).toEqual({ ...head, baseLink: head.link })
    })
})

describe("slot ring", () => {
    test("reuses a fixed set of keys, never deletes a block, and refuses to overwrite an unacknowledged one", async () => {
        const kv = new MemoryStore()
        const d = new Device(kv)
        d.store = new ChainStore(kv, crypto, deviceId, 4)
        await d.start()
        await expect(d.read(60)).rejects.toThrow(/backlog full/)
        const keys = [...kv.values.keys()].filter(k => k.startsWith("fb")).sort()
        expect(keys).toEqual(["fb0", "fb1", "fb2", "fb3"])
        // After an acknowledgement the ring goes round: a restarted device continues into it.
        await d.store.acknowledge(d.store.currentHead().seq - 1)
        const again = new Device(kv)
        again.store = new ChainStore(kv, crypto, deviceId, 4)
        await again.start()
        await again.read(20)
        expect([...kv.values.keys()].filter(k => k.startsWith("fb")).sort()).toEqual(keys)
        expect(kv.deleted.filter(k => k.startsWith("fb"))).toEqual([])
    })
})

describe("backlog budget", () => {
    test("keeps sampling past a full backlog: drops the oldest blocks, declares them, and the chain verifies", async () => {
        const kv = new MemoryStore()
        const d = new Device(kv)
        await d.start()
        const printed: number[] = []
        const backlog = startBacklog({
            pause: timerPause,
            store: d.store,
            ledger: d.ledger,
            maxBacklogBlocks: 8,
            checkpointEvery: CHECKPOINT_EVERY,
            now: () => ({ boot: d.boot, uptimeMs: d.uptime }),
            onSealed: async b => {
                printed.push(b.seq)
            },
        })
        for (let i = 0; i < 300; i++) {
            await backlog.submit(d.ledger.append([i, i], { boot: d.boot, uptimeMs: d.uptime }))
            d.uptime += INTERVAL
            await backlog.afterReading(d.ledger.openReadings().length)
        }
        expect(d.store.backlogBlocks()).toBeLessThanOrEqual(9)
        const genesis = kv.history.get(GENESIS_KEY)![0]
        const chain = await d.chain()
        const report = verifyChain(crypto, chain[0].equals(genesis) ? chain : [genesis, ...chain], { deviceId, key0: key0() })
        expect(report.failure).toBeUndefined()
        const lost = report.summary.gaps.at(-1)!
        // Every reading is either in the chain, in the open block, or declared lost.
        expect(report.summary.readings + lost.lostReadings + d.ledger.openReadings().length).toBe(300)
    })
})

describe("boot with a full backlog", () => {
    test("a reset with every slot in use still boots: the recovery blocks go through the backlog, which makes room", async () => {
        const kv = new MemoryStore()
        const run = async () => {
            const store = new ChainStore(kv, crypto, deviceId, 6)
            const opened = await openTestChain({
                store,
                crypto,
                deviceId,
                channels,
                ledger: { intervalMs: INTERVAL, maxReadingsPerBlock: 5 },
                checkpointEvery: 2,
                key: key0,
            })
            const { backlog, take } = startTestBacklog(store, opened, { maxBacklogBlocks: 4, checkpointEvery: 2 })
            await backlog.submit(opened.recovered)
            for (let i = 0; i < 33; i++) {
                await take([i, i], 1000 + i * INTERVAL)
                await backlog.afterReading(opened.ledger.openReadings().length)
            }
            return store
        }
        await run()
        await run() // the regression: this boot used to throw "backlog full" before sampling
        const store = await run()
        const chain = await storedChain(store)
        const report = verifyChain(crypto, chain, { deviceId, key0: key0() })
        expect(
            report.failure,
            JSON.stringify(report.failure) + " head " + JSON.stringify({ ...store.currentHead(), key: 0, link: 0 })
        ).toBeUndefined()
        expect(report.summary.gaps.some(g => g.reason === "backlog-full")).toBe(true)
    })
})

describe("stop-sampling policy", () => {
    test("keeps every block, takes no readings while the backlog is full, and declares the readings not taken once room returns", async () => {
        const kv = new MemoryStore()
        const d = new Device(kv)
        await d.start()
        const backlog = startBacklog({
            pause: timerPause,
            store: d.store,
            ledger: d.ledger,
            maxBacklogBlocks: 5,
            checkpointEvery: 100,
            whenFull: "stop-sampling",
            now: () => ({ boot: 0, uptimeMs: d.uptime }),
            onSealed: async () => {},
        })
        let taken = 0
        let refused = 0
        const step = async () => {
            const time = { boot: 0, uptimeMs: d.uptime }
            d.uptime += INTERVAL
            if (!(await backlog.shouldSample(time))) return refused++
            taken++
            await backlog.submit(d.ledger.append([taken, -taken], time))
        }
        for (let i = 0; i < 80; i++) await step()
        expect(d.store.backlogBlocks()).toBe(5)
        expect(refused).toBeGreaterThan(20)
        await d.store.acknowledge(d.store.currentHead().seq - 1) // a gateway took everything
        for (let i = 0; i < 5; i++) await step()
        const genesis = kv.history.get(GENESIS_KEY)![0]
        const flash: Buffer[] = []
        for (let s = 0; s < d.store.currentHead().seq; s++) {
            const b = kv.history
                .get("fb" + ((s - 1) % 22))
                ?.map(v => v)
                .find(v => decodeBlock(v).header.seq === s)
            if (s > 0 && b) flash.push(b)
        }
        const report = verifyChain(crypto, [genesis, ...flash], { deviceId, key0: key0() })
        expect(report.failure).toBeUndefined()
        expect(report.summary.gaps).toEqual([expect.objectContaining({ reason: "sampling-stopped", lostReadings: refused, lostBlocks: 0 })])
        expect(report.summary.readings + d.ledger.openReadings().length).toBe(taken)
    })
})

describe("inspection", () => {
    test("counts the readings held in the backlog through commits, drops and acknowledgements", async () => {
        const kv = new MemoryStore()
        const d = new Device(kv)
        await d.start()
        await d.read(47)
        expect(await d.store.backlogReadings()).toBe(40)
        await d.read(3)
        expect(await d.store.backlogReadings()).toBe(50)
        await d.store.dropOldest(2)
        expect(await d.store.backlogReadings()).toBe(30)
        await d.store.acknowledge(d.store.currentHead().seq - 2)
        expect(await d.store.backlogReadings()).toBe(10)
        const reloaded = new ChainStore(kv, crypto, deviceId, 22)
        await reloaded.load()
        expect(await reloaded.backlogReadings()).toBe(10)
    })
})

describe("stale flash", () => {
    test("a block left by a chain under another key is ignored at boot, not adopted and not fatal", async () => {
        const kv = new MemoryStore()
        const old = new ChainStore(kv, crypto, deviceId, 22)
        await old.create({ seq: 0, link: Buffer.alloc(32), key: Buffer.alloc(32, 0x77) }, 0)
        const ledger = new Ledger(
            crypto,
            deviceId,
            channels,
            { seq: 0, link: Buffer.alloc(32), key: Buffer.alloc(32, 0x77) },
            { intervalMs: INTERVAL }
        )
        const genesis = ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "old", "test")
        await old.commit(genesis.bytes, 0)
        // A new chain is started over it (re-provisioning), and power fails before its genesis.
        await old.create({ seq: 0, link: Buffer.alloc(32), key: key0() }, 0)
        const d = new Device(kv)
        await d.start()
        await d.read(12)
        const report = verifyChain(crypto, await d.chain(), { deviceId, key0: key0() })
        expect(report.failure).toBeUndefined()
    })
})

/**
 * A MemoryStore that fails for a while on the block slots: either the read right after a write
 * hands back bytes nobody wrote (corrupt), or every read of a slot gets no answer (io).
 */
class FlakySlots extends MemoryStore {
    mode: "ok" | "corrupt" | "io" = "ok"
    private written = new Set<string>()
    async set(key: string, value: Buffer) {
        await super.set(key, value)
        this.written.add(key)
    }
    async get(key: string) {
        const v = await super.get(key)
        if (!key.startsWith("fb") || this.mode === "ok") return v
        if (this.mode === "io") throw new StorageError("io", "setting " + key + ": no answer from the settings service")
        if (!this.written.has(key) || !v) return v
        this.written.delete(key)
        v[v.length - 1] ^= 0xff
        return v
    }
}

describe("flash errors that are not a full store", () => {
    test.each(["corrupt", "io"] as const)(
        "a %s error drops no block: the sealed blocks wait in RAM and are committed once flash answers",
        async mode => {
            const kv = new FlakySlots()
            const d = new Device(kv)
            await d.start()
            await d.read(30)
            const backlog = startBacklog({
                pause: timerPause,
                store: d.store,
                ledger: d.ledger,
                maxBacklogBlocks: 16,
                checkpointEvery: 1000,
                now: () => ({ boot: d.boot, uptimeMs: d.uptime }),
                onSealed: async () => {},
            })
            const feed = async (n: number) => {
                for (let i = 0; i < n; i++) {
                    await backlog.submit(d.ledger.append([d.appended, -d.appended], { boot: d.boot, uptimeMs: d.uptime }))
                    d.appended++
                    d.uptime += INTERVAL
                }
            }
            const before = d.store.backlogBlocks()
            kv.mode = mode
            await feed(25)
            expect(backlog.pending()).toBeGreaterThan(0)
            expect(d.store.currentHead().loss).toBeUndefined()
            expect(d.store.backlogBlocks()).toBe(before)
            kv.mode = "ok"
            await feed(10)
            expect(backlog.pending()).toBe(0)
            expect(d.store.currentHead().loss).toBeUndefined()
            const report = verifyChain(crypto, await d.chain(), { deviceId, key0: key0() })
            expect(report.failure).toBeUndefined()
            expect(report.summary.gaps).toEqual([])
            expect(report.summary.readings + d.ledger.openReadings().length).toBe(d.appended)
        }
    )
})

describe("power-loss gap record", () => {
    const boot = async (kv: MemoryStore, checkpointEvery: number) => {
        const store = new ChainStore(kv, crypto, deviceId, 22)
        const opened = await openTestChain({
            store,
            crypto,
            deviceId,
            channels,
            ledger: { intervalMs: INTERVAL, maxReadingsPerBlock: 10 },
            checkpointEvery,
            key: key0,
            uptimeMs: 500,
        })
        for (const b of opened.recovered) await store.commit(b.bytes, b.seq)
        return { store, opened }
    }
    const gapOf = (blocks: readonly { bytes: Buffer }[]) => blocks.map(b => decodeBlock(b.bytes)).find(b => b.gap)!.gap!

    test("without a checkpoint its from is the first slot after the last sealed block's readings, not the boot's start", async () => {
        const kv = new MemoryStore()
        const { store, opened } = await boot(kv, 100)
        // 25 readings from uptime 1 s: blocks of 10 sealed at readings 10 and 20, 5 open (no checkpoint).
        for (let i = 0; i < 25; i++)
            for (const b of opened.ledger.append([i, -i], { boot: opened.boot, uptimeMs: 1000 + i * INTERVAL }))
                await store.commit(b.bytes, b.seq)
        const after = await boot(kv, 100)
        const gap = gapOf(after.opened.recovered)
        expect(gap.from).toEqual({ boot: 0, uptimeMs: 1000 + 20 * INTERVAL })
        expect(gap.lostReadings).toBe(100)
        // A reset again at once: the last block is that gap record; the loss starts at its time.
        const again = await boot(kv, 100)
        expect(gapOf(again.opened.recovered).from).toEqual({ boot: 1, uptimeMs: 500 })
    })

    test("with a checkpoint its from is the slot after the checkpoint's readings", async () => {
        const kv = new MemoryStore()
        const { store, opened } = await boot(kv, 4)
        for (let i = 0; i < 14; i++)
            for (const b of opened.ledger.append([i, -i], { boot: opened.boot, uptimeMs: 1000 + i * INTERVAL }))
                await store.commit(b.bytes, b.seq)
        await store.checkpoint(opened.ledger.openContent())
        const after = await boot(kv, 4)
        expect(gapOf(after.opened.recovered).from).toEqual({ boot: 0, uptimeMs: 1000 + 14 * INTERVAL })
    })
})
