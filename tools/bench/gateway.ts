/**
 * The gateway under load, at the protocol level: many simulated devices (the shared Ledger and
 * codec, not the VM), their chains sealed before any timing. Figures:
 * - verification per core: the gateway's ingest decisions (ingestBatch: decode, tag under
 *   K_seq, link, seq) over every chain in memory, with @noble/hashes and with node:crypto
 *   (OpenSSL, the speed-of-light reference measured in the same run);
 * - ingest: batches posted over HTTP on loopback by several concurrent clients into a
 *   gateway on a fresh SQLite file (one transaction per request), with synchronous=FULL (what
 *   the gateway runs) and NORMAL (its earlier setting) in the same run;
 * - the same ingest into PostgreSQL (a private cluster started for the run, synchronous_commit
 *   on) through 1 and 2 gateway processes, the batches spread over them request by request as
 *   a load balancer without affinity would (so each device's head keeps moving under the other
 *   gateway, the fleet's worst case). Database, gateways and clients share the machine.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import { newChainHead } from "../../src/lib/ledger/chain"
import { ChannelSpec } from "../../src/lib/codec/format"
import { LedgerCrypto } from "../../src/lib/ledger/keys"
import { Ledger } from "../../src/lib/ledger/ledger"
import { RandomWalk } from "../../src/lib/sensors/randomwalk"
import { syncPath } from "../../src/lib/sync/gatewayurl"
import { batchBytes, encodeBatch, MAX_BATCH_BYTES } from "../../src/lib/sync/syncwire"
import { initialVerifierState } from "../../src/lib/ledger/verify"
import { ingestBatch, StoredBlockRef } from "../gateway/ingest"
import { startGateway } from "../gateway/server"
import type { SqliteStore } from "../gateway/store"
import { nobleCrypto, nodeCrypto } from "../lib/crypto"
import type { BenchSection } from "./section"
import type { LogIdentity } from "../gateway/tlog/logkey"
import { GatewayProcess, startFleet } from "./fleet"
import { freePort } from "../lib/ports"
import { PgCluster, postgresInstalled, startPgCluster } from "../lib/pgcluster"

const DEVICES = 64
const READINGS_PER_DEVICE = 40000
const CLIENTS = 8
const CHANNELS: ChannelSpec[] = [
    { name: "temperature", unit: "degC", exponent: -2 },
    { name: "humidity", unit: "%RH", exponent: -2 },
    { name: "pressure", unit: "hPa", exponent: -1 },
]

export interface SimDevice {
    id: Buffer
    key0: Buffer
    blocks: Buffer[]
    readings: number
}

function deviceId(n: number): Buffer {
    const id = Buffer.alloc(8)
    id.writeUInt32BE(0xbe4c0000, 0)
    id.writeUInt32BE(n, 4)
    return id
}

/** One device's chain: genesis, then readings from smooth random walks, sealed on size. */
export function simulateDevice(n: number, readingsPerDevice = READINGS_PER_DEVICE): SimDevice {
    const id = deviceId(n)
    const key0 = Buffer.alloc(32, n + 1)
    const ledger = new Ledger(nodeCrypto, id, CHANNELS, newChainHead(Buffer.from(key0)), { intervalMs: 1000, maxBlockAgeMs: 2 ** 31 })
    const blocks = [ledger.sealGenesis({ boot: 1, uptimeMs: 0 }, "fieldledger/bench", "bench").bytes]
    const walks = [
        new RandomWalk(n * 3 + 1, 2100, 4, 1500, 3500),
        new RandomWalk(n * 3 + 2, 5000, 6, 2000, 9000),
        new RandomWalk(n * 3 + 3, 10130, 2, 9800, 10400),
    ]
    for (let i = 0; i < readingsPerDevice; i++)
        for (const b of ledger.append(
            walks.map(w => Math.round(w.next())),
            { boot: 1, uptimeMs: 1000 + i * 1000 }
        ))
            blocks.push(b.bytes)
    const last = ledger.sealOpen()
    if (last) blocks.push(last.bytes)
    return { id, key0, blocks, readings: readingsPerDevice }
}

/** Splits a chain into batches of at most MAX_BATCH_BYTES. */
export function batches(blocks: Buffer[]): Buffer[][] {
    const out: Buffer[][] = []
    let current: Buffer[] = []
    for (const b of blocks) {
        if (current.length > 0 && batchBytes([...current, b]) > MAX_BATCH_BYTES) {
            out.push(current)
            current = []
        }
        current.push(b)
    }
    if (current.length) out.push(current)
    return out
}

/** Runs the gateway's ingest decisions over every device's batches, in memory; readings/s. */
function verifyAll(crypto: LedgerCrypto, devices: SimDevice[], split: Buffer[][][]): number {
    const start = performance.now()
    let readings = 0
    devices.forEach((d, n) => {
        const stored = new Map<number, StoredBlockRef>()
        let state = initialVerifierState(d.key0)
        for (const blocks of split[n]) {
            const r = ingestBatch(
                {
                    crypto,
                    deviceId: d.id,
                    state,
                    stored: seq => stored.get(seq),
                    epochKey: () => {
                        throw new Error("no re-delivery here")
                    },
                },
                blocks
            )
            if (r.stop) throw new Error("bench chain refused: " + r.stop.message)
            for (const b of r.store) stored.set(b.seq, b)
            state = r.state
        }
        readings += d.readings
    })
    return readings / ((performance.now() - start) / 1000)
}

/**
 * `synchronous`: the store's SQLite setting for this run. The gateway commits with FULL (an ack
 * names only blocks on disk); NORMAL, its earlier setting, is measured beside it for the cost.
 */
export async function ingestOverHttp(
    devices: SimDevice[],
    split: Buffer[][][],
    synchronous: "FULL" | "NORMAL",
    log: { key?: LogIdentity; checkpointIntervalMs?: number; off?: boolean } = {}
) {
    const dir = mkdtempSync(join(tmpdir(), "fl-bench-gateway-"))
    const gateway = await startGateway({
        db: join(dir, "bench.db"),
        port: 0,
        masterKey: Buffer.alloc(32, 0x77),
        log: () => {},
        logKey: log.key,
        checkpointIntervalMs: log.checkpointIntervalMs,
    })
    const store = gateway.service.store as SqliteStore
    store.db.pragma("synchronous = " + synchronous)
    // The baseline of the log's cost (tlog bench): the batch transaction appends no leaves.
    if (log.off) store.log.appendInTransaction = () => 0
    try {
        for (const d of devices) await gateway.service.register({ deviceId: d.id.toString("hex"), key0: d.key0.toString("hex") })
        // Each client takes devices round-robin and posts each device's batches in order.
        type Post = { url: string; body: Uint8Array<ArrayBuffer> }
        const queues: Post[][] = Array.from({ length: CLIENTS }, (): Post[] => [])
        devices.forEach((d, n) => {
            for (const blocks of split[n])
                queues[n % CLIENTS].push({
                    url: gateway.url + syncPath(d.id.toString("hex")),
                    body: new Uint8Array(encodeBatch(Buffer.alloc(8, n), blocks)),
                })
        })
        // The clients run in a worker thread, as devices run elsewhere: the gateway's thread
        // spends its time on the gateway, not on the load generator.
        const start = performance.now()
        const requests = await runClients(queues)
        const seconds = (performance.now() - start) / 1000
        return { seconds, requests }
    } finally {
        await gateway.close()
        rmSync(dir, { recursive: true, force: true })
    }
}

/**
 * The same posting into PostgreSQL through `count` gateway processes: each device's batches in
 * order, batch i of device n to gateway (n + i) mod count.
 */
async function ingestIntoPg(cluster: PgCluster, devices: SimDevice[], split: Buffer[][][], count: number) {
    const dbUrl = await cluster.createDatabase("bench_ingest_" + count)
    const gateways: GatewayProcess[] = []
    for (let i = 0; i < count; i++) gateways.push(new GatewayProcess(dbUrl, await freePort()))
    try {
        await startFleet(gateways, devices)
        type Post = { url: string; body: Uint8Array<ArrayBuffer> }
        const queues: Post[][] = Array.from({ length: CLIENTS }, (): Post[] => [])
        devices.forEach((d, n) => {
            split[n].forEach((blocks, i) =>
                queues[n % CLIENTS].push({
                    url: gateways[(n + i) % count].url + syncPath(d.id.toString("hex")),
                    body: new Uint8Array(encodeBatch(Buffer.alloc(8, n), blocks)),
                })
            )
        })
        const start = performance.now()
        const requests = await runClients(queues)
        return { seconds: (performance.now() - start) / 1000, requests }
    } finally {
        await Promise.all(gateways.map(g => g.kill("SIGTERM")))
    }
}

/** Posts each queue's requests in order, the queues concurrently, from a worker thread. */
const CLIENT_CODE = `
const { parentPort, workerData } = require("node:worker_threads")
Promise.all(workerData.map(async q => {
    for (const r of q) {
        const res = await fetch(r.url, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: r.body })
        const reply = await res.json()
        if (res.status !== 200) throw new Error("ingest refused a bench batch: " + JSON.stringify(reply))
    }
    return q.length
})).then(n => parentPort.postMessage({ requests: n.reduce((a, b) => a + b, 0) }), e => parentPort.postMessage({ error: String(e) }))
`

function runClients(queues: { url: string; body: Uint8Array<ArrayBuffer> }[][]): Promise<number> {
    return new Promise((resolve, reject) => {
        const worker = new Worker(CLIENT_CODE, { eval: true, workerData: queues })
        worker.once("message", (m: { requests?: number; error?: string }) => {
            void worker.terminate()
            if (m.error) reject(new Error(m.error))
            else resolve(m.requests)
        })
        worker.once("error", reject)
    })
}

export const gateway: BenchSection = {
    name: "gateway",
    description: "gateway verification per core (noble vs node:crypto) and HTTP ingest into SQLite and PostgreSQL",
    async run({ quick }) {
        const devices = Array.from({ length: DEVICES }, (_, n) => simulateDevice(n))
        const split = devices.map(d => batches(d.blocks))
        const blocks = devices.reduce((n, d) => n + d.blocks.length, 0)
        const readings = devices.reduce((n, d) => n + d.readings, 0)
        verifyAll(nobleCrypto, devices.slice(0, 4), split.slice(0, 4)) // warm-up
        verifyAll(nodeCrypto, devices.slice(0, 4), split.slice(0, 4))
        const noble = Math.max(verifyAll(nobleCrypto, devices, split), verifyAll(nobleCrypto, devices, split))
        const node = Math.max(verifyAll(nodeCrypto, devices, split), verifyAll(nodeCrypto, devices, split))
        const http = await ingestOverHttp(devices, split, "FULL")
        const normal = await ingestOverHttp(devices, split, "NORMAL")
        const ingestBlocks = blocks / http.seconds
        const ingestBlocksNormal = blocks / normal.seconds
        const ingestReadings = readings / http.seconds
        const f = (x: number) => Math.round(x).toLocaleString("en-US")
        const pg = await ingestPgRuns(devices, split, quick)
        const pgLines = pg
            ? [
                  `  ingest over HTTP into PostgreSQL      ${f(pg.one).padStart(12)} blocks/s    (1 gateway process; ${(pg.one / ingestBlocks).toFixed(2)}x SQLite; ${pg.blocks} blocks of ${pg.devices} devices; synchronous_commit=on)`,
                  `    through 2 gateway processes         ${f(pg.two).padStart(12)} blocks/s    (${(pg.two / ingestBlocks).toFixed(2)}x SQLite, goal >= 0.6; ${(pg.two / pg.one).toFixed(2)}x one gateway; database, gateways and clients on one 2-core machine)`,
              ]
            : ["  ingest into PostgreSQL: skipped (PostgreSQL 15 is not installed)"]
        return {
            lines: [
                `  ${DEVICES} devices x ${READINGS_PER_DEVICE} readings (3 channels): ${blocks} blocks, ${(readings / blocks).toFixed(1)} readings per block`,
                `  verification, 1 core, @noble/hashes   ${f(noble).padStart(12)} readings/s  (${(noble / node).toFixed(2)}x node:crypto; goal >= 200,000)`,
                `  verification, 1 core, node:crypto     ${f(node).padStart(12)} readings/s  (reference)`,
                `  ingest over HTTP into SQLite          ${f(ingestBlocks).padStart(12)} blocks/s    (goal >= 10,000; ${http.requests} requests, ${CLIENTS} clients; synchronous=FULL)`,
                `    the same with synchronous=NORMAL    ${f(ingestBlocksNormal).padStart(12)} blocks/s    (FULL costs ${((1 - ingestBlocks / ingestBlocksNormal) * 100).toFixed(0)}%; NORMAL can lose acked batches on power loss)`,
                `                                        ${f(ingestReadings).padStart(12)} readings/s  (${(ingestReadings / node).toFixed(2)}x node:crypto verification alone)`,
                ...pgLines,
            ],
            figures: {
                verifyReadingsPerSec: Math.round(noble),
                verifyReadingsPerSecNodeCrypto: Math.round(node),
                ingestBlocksPerSec: Math.round(ingestBlocks),
                ingestBlocksPerSecSyncNormal: Math.round(ingestBlocksNormal),
                ingestReadingsPerSec: Math.round(ingestReadings),
                ...(pg ? { ingestBlocksPerSecPg1: Math.round(pg.one), ingestBlocksPerSecPg2: Math.round(pg.two) } : {}),
            },
        }
    },
}

/** PostgreSQL through 1 and 2 gateways on a cluster of its own (quick: the first 8 devices); undefined when not installed. */
async function ingestPgRuns(devices: SimDevice[], split: Buffer[][][], quick: boolean) {
    if (!postgresInstalled()) return undefined
    const n = quick ? Math.min(8, devices.length) : devices.length
    const cluster = await startPgCluster()
    try {
        const blocks = split.slice(0, n).reduce((sum, batches) => sum + batches.reduce((m, b) => m + b.length, 0), 0)
        const one = await ingestIntoPg(cluster, devices.slice(0, n), split.slice(0, n), 1)
        const two = await ingestIntoPg(cluster, devices.slice(0, n), split.slice(0, n), 2)
        return { one: blocks / one.seconds, two: blocks / two.seconds, blocks, devices: n }
    } finally {
        cluster.stop()
    }
}
