/**
 * The transparency log (tools/gateway/tlog/). Figures:
 * - logAppendOverhead: HTTP ingest blocks/s with the log (leaves in the batch transaction, the
 *   integrator signing every second, a signed receipt per ack) over the same without leaves,
 *   same run, each measured twice alternately and the best taken;
 * - a log of 1,000,000 leaves (20,000 with --quick) built through the LogStore from synthetic
 *   entries (not HTTP ingest), integrated and signed; on it:
 * - inclusionProofBytes: an inclusion proof's binary answer (?format=binary) at that size;
 * - proofsPerSec: inclusion proofs for random leaves served over HTTP (the binary answer), as
 *   a load generator in a process of its own gets them (httpload.mjs: 16 kept-alive loopback
 *   connections, one request in flight on each; the gateway's one thread does the serving),
 *   with the gateway's CPU time per proof (its process runs nothing else meanwhile), which says
 *   what one core would serve whatever else the machine runs; beside it the same load on the
 *   JSON answer and on /v1/health (the HTTP stack's own cost);
 * - auditLeavesPerSec: `fieldledger audit`'s log catch-up from nothing on that log over HTTP
 *   (checkpoint, entry bundles, the roots from the entries); the exports are not read (the
 *   synthetic entries have no blocks), their check is a verify of each chain.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import { startGateway } from "../gateway/server"
import type { SqliteStore } from "../gateway/store"
import type { LogStore } from "../gateway/tlog/logstore"
import { logIdentity } from "../gateway/tlog/logkey"
import { batches, ingestOverHttp, simulateDevice } from "./gateway"
import type { BenchSection } from "./section"

const LOG = logIdentity(Buffer.alloc(32, 0x16), "fieldledger.bench/log")

async function appendOverhead(quick: boolean) {
    const devices = Array.from({ length: quick ? 8 : 64 }, (_, n) => simulateDevice(n, quick ? 5000 : 40000))
    const split = devices.map(d => batches(d.blocks))
    const blocks = devices.reduce((n, d) => n + d.blocks.length, 0)
    let withLog = 0
    let without = 0
    for (let round = 0; round < 2; round++) {
        const off = await ingestOverHttp(devices, split, "FULL", { off: true })
        const on = await ingestOverHttp(devices, split, "FULL", { key: LOG, checkpointIntervalMs: 1000 })
        without = Math.max(without, blocks / off.seconds)
        withLog = Math.max(withLog, blocks / on.seconds)
    }
    return { blocks, withLog, without }
}

/** Synthetic entries for `leaves` leaves: 1,000 devices, seqs growing per device. */
async function buildLog(leaves: number, store: LogStore) {
    const CHUNK = 65536
    const start = performance.now()
    for (let from = 0; from < leaves; from += CHUNK) {
        const entries = []
        for (let i = from; i < Math.min(leaves, from + CHUNK); i++) {
            const hash = Buffer.alloc(32)
            hash.writeUInt32BE(i, 0)
            entries.push({ deviceId: "be4c" + String(i % 1000).padStart(12, "0"), chain: 0, seq: Math.floor(i / 1000), hash })
        }
        await store.appendLeaves(entries)
    }
    return (performance.now() - start) / 1000
}

/** Keep-alive connections of the load generator, one request in flight on each. */
const LOAD_CONNECTIONS = 16

/**
 * `requests` GETs of `path` from httpload.mjs, in a process of its own; "{i}" in the path is a
 * random leaf below `randomBelow`. The rate is the client's (requests over the seconds from its
 * connecting to the last answer); the server's CPU is this process's over the run (the gateway
 * is all this process runs meanwhile): its time per request gives what one core would serve.
 */
async function load(url: string, path: string, requests: number, randomBelow = 1): Promise<{ perSec: number; cpuPerRequestUs: number }> {
    const port = Number(new URL(url).port)
    const cpu = process.cpuUsage()
    const child = spawn(process.execPath, [
        fileURLToPath(new URL("./httpload.mjs", import.meta.url)),
        JSON.stringify({ port, connections: LOAD_CONNECTIONS, requests, path, randomBelow }),
    ])
    let out = ""
    let err = ""
    child.stdout.on("data", d => (out += d))
    child.stderr.on("data", d => (err += d))
    const code = await new Promise<number>(resolve => child.once("close", resolve))
    const used = process.cpuUsage(cpu)
    if (code !== 0) throw new Error("the load generator failed: " + err.trim())
    const r = JSON.parse(out) as { requests: number; seconds: number }
    return { perSec: r.requests / r.seconds, cpuPerRequestUs: (used.user + used.system) / r.requests }
}

/** runAudit from nothing in a worker thread (auditworker.mjs); its own timing, after its modules loaded. */
function auditInWorker(url: string): Promise<{ seconds: number; size: number }> {
    return new Promise((resolve, reject) => {
        const worker = new Worker(new URL("./auditworker.mjs", import.meta.url), { workerData: { url, verifierKey: LOG.verifierKey } })
        worker.once("message", (m: { seconds?: number; size?: number; error?: string }) => {
            void worker.terminate()
            if (m.error) reject(new Error(m.error))
            else resolve({ seconds: m.seconds, size: m.size })
        })
        worker.once("error", reject)
    })
}

export const tlog: BenchSection = {
    name: "tlog",
    description: "transparency log: ingest with the log, proofs and audit on a 1M-leaf log",
    async run(options) {
        const quick = options.quick
        const overhead = await appendOverhead(quick)
        const leaves = quick ? 20000 : 1_000_000
        const dir = mkdtempSync(join(tmpdir(), "fl-bench-tlog-"))
        const gateway = await startGateway({
            db: join(dir, "log.db"),
            port: 0,
            masterKey: Buffer.alloc(32, 0x77),
            log: () => {},
            logKey: LOG,
        })
        try {
            const sqlite = gateway.service.store as SqliteStore
            const store = sqlite.log
            sqlite.db.pragma("synchronous = NORMAL") // building the bench's log, not a figure
            const appendSeconds = await buildLog(leaves, store)
            let start = performance.now()
            const cp = await gateway.service.logIntegrator.checkpoint()
            const integrateSeconds = (performance.now() - start) / 1000
            sqlite.db.pragma("synchronous = FULL")
            const proof = await fetch(gateway.url + "/v1/log/proof/inclusion?format=binary&index=" + (leaves - 12345))
            const proofBytes = (await proof.arrayBuffer()).byteLength
            const jsonBytes = (await (await fetch(gateway.url + "/v1/log/proof/inclusion?index=" + (leaves - 12345))).arrayBuffer())
                .byteLength
            const requests = quick ? 4000 : 40000
            const proofPath = "/v1/log/proof/inclusion?format=binary&index={i}"
            await load(gateway.url, proofPath, 400, cp.size) // warm-up: the code paths (the tile cache stays mostly cold)
            const proofs = await load(gateway.url, proofPath, requests, cp.size)
            const json = await load(gateway.url, "/v1/log/proof/inclusion?index={i}", requests, cp.size)
            const health = await load(gateway.url, "/v1/health", requests)
            const audited = await auditInWorker(gateway.url)
            const auditSeconds = audited.seconds
            if (audited.size !== leaves) throw new Error("the audit stopped at " + audited.size)
            const auditLeavesPerSec = leaves / auditSeconds
            const f = (x: number) => Math.round(x).toLocaleString("en-US")
            return {
                lines: [
                    `  ingest with the log / without (same run, ${overhead.blocks} blocks, best of 2 each): ${f(overhead.withLog)} / ${f(overhead.without)} blocks/s = ${(overhead.withLog / overhead.without).toFixed(2)}x (logAppendOverhead; goal >= 0.8)`,
                    `  a log of ${f(leaves)} leaves: appended through the LogStore in ${appendSeconds.toFixed(1)} s, integrated (tiles) and signed in ${integrateSeconds.toFixed(1)} s`,
                    `  inclusion proof at ${f(leaves)} leaves: ${proofBytes} B binary (inclusionProofBytes; goal <= 700), ${jsonBytes} B as JSON with the entry`,
                    `  inclusion proofs served over HTTP, random leaves, ${LOAD_CONNECTIONS} keep-alive connections: ${f(proofs.perSec)}/s (proofsPerSec, binary; goal >= 5,000), the gateway's CPU ${proofs.cpuPerRequestUs.toFixed(0)} us a proof (${f(1e6 / proofs.cpuPerRequestUs)}/s a core); as JSON with the entry ${f(json.perSec)}/s (${json.cpuPerRequestUs.toFixed(0)} us); /v1/health ${f(health.perSec)}/s (${health.cpuPerRequestUs.toFixed(0)} us)`,
                    `  audit catching up on the whole log from nothing: ${auditSeconds.toFixed(1)} s, ${f(auditLeavesPerSec)} leaves/s (auditLeavesPerSec; goal >= 100,000; exports not read)`,
                ],
                figures: {
                    logAppendOverhead: Math.round((overhead.withLog / overhead.without) * 100) / 100,
                    inclusionProofBytes: proofBytes,
                    proofsPerSec: Math.round(proofs.perSec),
                    auditLeavesPerSec: Math.round(auditLeavesPerSec),
                },
            }
        } finally {
            await gateway.close()
            rmSync(dir, { recursive: true, force: true })
        }
    },
}
