/**
 * The gateway under abuse, over HTTP on loopback (clients in their own processes, so the
 * gateway's process spends its time and memory on the gateway):
 * - attackedSyncP99Ratio: one device syncing a block per request, its p99 latency while one
 *   attacker posts forged seq-jump claims for it as fast as it can, over its p99 alone;
 * - exportRssGrowthMB, exportLoopStallMs: exporting a long chain (1M blocks; 20,000 with
 *   --quick), the gateway's RSS growth and the longest another request (the device's summary,
 *   one after the other) waited meanwhile.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { spawn } from "node:child_process"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { encodeContent, newChainHead } from "../../src/lib/ledger/chain"
import { ChannelSpec, RECORD_GAP, TAG_BYTES } from "../../src/lib/codec/format"
import { Ledger } from "../../src/lib/ledger/ledger"
import { encodeBatch } from "../../src/lib/sync/syncwire"
import { MAX_JUMP_PER_BATCH, summarizeBlock } from "../gateway/ingest"
import { decodeBlock } from "../../src/lib/ledger/chain"
import { RunningGateway, startGateway } from "../gateway/server"
import { createReadToken } from "../gateway/tokencli"
import { nodeCrypto } from "../lib/crypto"
import type { BenchSection } from "./section"

const CHANNELS: ChannelSpec[] = [
    { name: "temperature", unit: "degC", exponent: -2 },
    { name: "humidity", unit: "%RH", exponent: -2 },
]
const ID = Buffer.from("be4c1a0000000001", "hex")
const KEY0 = Buffer.alloc(32, 0x42)

async function withGateway<T>(run: (g: RunningGateway) => Promise<T>): Promise<T> {
    const dir = mkdtempSync(join(tmpdir(), "fl-bench-limits-"))
    const gateway = await startGateway({ db: join(dir, "bench.db"), port: 0, masterKey: Buffer.alloc(32, 0x77), log: () => {} })
    try {
        await gateway.service.register({ deviceId: ID.toString("hex"), key0: KEY0.toString("hex") })
        return await run(gateway)
    } finally {
        await gateway.close()
        rmSync(dir, { recursive: true, force: true })
    }
}

/** A chain of `count` blocks after genesis, one reading each (a device sealing often). */
function sealChain(count: number): Buffer[] {
    const ledger = new Ledger(nodeCrypto, ID, CHANNELS, newChainHead(Buffer.from(KEY0)), { intervalMs: 1000, maxReadingsPerBlock: 1 })
    const blocks = [ledger.sealGenesis({ boot: 1, uptimeMs: 0 }, "fieldledger/bench", "bench").bytes]
    for (let i = 0; blocks.length <= count; i++)
        for (const b of ledger.append([2000 + (i % 50), 5000 - (i % 70)], { boot: 1, uptimeMs: 1000 + i * 1000 })) blocks.push(b.bytes)
    return blocks
}

/** A gap record at `seq` declaring everything from `expected` on dropped, under a made-up tag. */
function forgedJump(expected: number, seq: number): Buffer {
    const link = Buffer.alloc(32, seq % 251)
    const content = encodeContent(
        { seq, link, key: KEY0 },
        {
            type: RECORD_GAP,
            time: { boot: 9, uptimeMs: 1 },
            intervalMs: 0,
            gap: {
                reason: 1,
                lostReadings: 0,
                firstLostSeq: expected,
                lostBlocks: seq - expected,
                lastLostHash: link,
                from: { boot: 9, uptimeMs: 0 },
            },
        }
    )
    return Buffer.concat([content, Buffer.alloc(TAG_BYTES, 0xee)])
}

/**
 * Worker: `legit` bodies posted one after the other (latencies in ms back), while `attack`
 * bodies, if any, are posted in a loop on another connection until the legit ones are done.
 */
const SYNC_CLIENT = `
const { url, legit, attack } = JSON.parse(require("node:fs").readFileSync(0, "utf8"), (k, v) => (typeof v === "string" && v.startsWith("b64:") ? Buffer.from(v.slice(4), "base64") : v))
let done = false
let attacks = 0
const attacker = (async () => {
    for (let i = 0; attack.length && !done; i++) {
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: attack[i % attack.length] })
        await res.arrayBuffer()
        if (res.status !== 422) throw new Error("a forged claim got " + res.status)
        attacks++
    }
})()
;(async () => {
    const times = []
    for (const body of legit) {
        const start = performance.now()
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/octet-stream" }, body })
        await res.arrayBuffer()
        if (res.status !== 200) throw new Error("a legit batch got " + res.status)
        times.push(performance.now() - start)
    }
    done = true
    await attacker
    return { times, attacks }
})().then(r => console.log(JSON.stringify(r)), e => console.log(JSON.stringify({ error: String(e) })))
`

/** Worker: downloads the export (discarding it) while timing health requests one after another. */
const EXPORT_CLIENT = `
const { exportUrl, healthUrl, token } = JSON.parse(require("node:fs").readFileSync(0, "utf8"))
const auth = { headers: { authorization: "Bearer " + token } }
let done = false
let longest = 0
let probes = 0
const probe = (async () => {
    await (await fetch(healthUrl, auth)).arrayBuffer() // the connection, set up before the export
    while (!done) {
        const start = performance.now()
        await (await fetch(healthUrl, auth)).arrayBuffer()
        longest = Math.max(longest, performance.now() - start)
        probes++
    }
})()
;(async () => {
    const res = await fetch(exportUrl, auth)
    const reader = res.body.getReader()
    let bytes = 0
    for (;;) {
        const { done: end, value } = await reader.read()
        if (end) break
        bytes += value.byteLength
    }
    done = true
    await probe
    return { bytes, longest, probes }
})().then(r => console.log(JSON.stringify(r)), e => console.log(JSON.stringify({ error: String(e) })))
`

/**
 * Runs a client in its own process (not a worker thread: the gateway's RSS is measured), its
 * input as JSON on stdin (buffers as "b64:..."), its result as JSON on stdout.
 */
function runClient<T>(code: string, data: unknown, started?: () => void): Promise<T> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-e", code], { stdio: ["pipe", "pipe", "inherit"] })
        started?.()
        let out = ""
        child.stdout.on("data", d => (out += d))
        child.once("error", reject)
        child.once("exit", code => {
            let m: T & { error?: string }
            try {
                m = JSON.parse(out)
            } catch (e) {
                return reject(new Error("bench client exited " + code + ": " + out))
            }
            if (m.error) reject(new Error(m.error))
            else resolve(m)
        })
        child.stdin.end(
            JSON.stringify(data, (k, v) =>
                v && v.type === "Buffer" && Array.isArray(v.data) ? "b64:" + Buffer.from(v.data).toString("base64") : v
            )
        )
    })
}

/** A full garbage collection (the flag is set at run time: the bench runs without --expose-gc). */
function collectGarbage() {
    setFlagsFromString("--expose-gc")
    ;(runInNewContext("gc") as () => void)()
}

function percentile(times: number[], p: number): number {
    const sorted = [...times].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}
const p99 = (times: number[]) => percentile(times, 0.99)
const p50 = (times: number[]) => percentile(times, 0.5)

async function attackedSync(requests: number) {
    const chain = sealChain(2 * requests + 1)
    return withGateway(async gateway => {
        const url = gateway.url + "/v1/devices/" + ID.toString("hex") + "/blocks"
        const body = (blocks: Buffer[], n: number) => encodeBatch(Buffer.alloc(8, n % 256), blocks)
        const post = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/octet-stream" },
            body: new Uint8Array(body(chain.slice(0, 2), 0)),
        })
        if (post.status !== 200) throw new Error("bench chain refused")
        const legit = chain.slice(2).map((b, n) => body([b], n))
        const alone = await runClient<{ times: number[] }>(SYNC_CLIENT, { url, legit: legit.slice(0, requests), attack: [] })
        // Claims spread over the whole allowed distance past where the head will be.
        const expected = requests + 2
        const attack = Array.from({ length: 256 }, (_, n) =>
            body(
                [forgedJump(expected, 2 * requests + 2 + Math.floor(((n * 7919) % 256) * ((MAX_JUMP_PER_BATCH - 2 * requests - 2) / 256)))],
                n
            )
        )
        const attacked = await runClient<{ times: number[]; attacks: number }>(SYNC_CLIENT, { url, legit: legit.slice(requests), attack })
        return {
            alone: p99(alone.times),
            attacked: p99(attacked.times),
            aloneP50: p50(alone.times),
            attackedP50: p50(attacked.times),
            attacks: attacked.attacks,
        }
    })
}

/**
 * A chain of `count` blocks in the store, written through the store 50,000 rows a transaction:
 * 1,024 blocks sealed by the shared Ledger, their bytes repeated under the later seqs (the
 * export does not verify, so only the sizes matter; the file does not verify past block 1,023).
 */
async function storeLongChain(gateway: RunningGateway, count: number) {
    const sealed = sealChain(1023)
    const summaries = sealed.map(b => summarizeBlock(decodeBlock(b), b, nodeCrypto.sha256(b)))
    for (let from = 0; from < count; from += 50000) {
        const rows = Array.from({ length: Math.min(50000, count - from) }, (_, i) => ({
            ...summaries[(from + i) % summaries.length],
            seq: from + i,
        }))
        await gateway.service.store.commitBatch({ deviceId: ID.toString("hex"), now: Date.now(), blocks: rows, events: [] })
    }
}

async function exportLong(count: number) {
    return withGateway(async gateway => {
        const built = performance.now()
        await storeLongChain(gateway, count)
        const buildSeconds = (performance.now() - built) / 1000
        // Collect the chain building's garbage first, so it cannot mask growth during the export.
        collectGarbage()
        const before = process.memoryUsage().rss
        let peak = before
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10)
        // The gateway's event loop delay: how long any request arriving meanwhile waits to start.
        // (Enabled once the client process is spawned: spawning blocks this thread itself.)
        const delay = monitorEventLoopDelay({ resolution: 5 })
        const id = ID.toString("hex")
        const { token } = await createReadToken(gateway.service.store, { label: "bench" })
        const start = performance.now()
        const r = await runClient<{ bytes: number; longest: number; probes: number }>(
            EXPORT_CLIENT,
            { exportUrl: gateway.url + "/v1/devices/" + id + "/export", healthUrl: gateway.url + "/v1/devices/" + id, token },
            () => delay.enable()
        )
        const seconds = (performance.now() - start) / 1000
        clearInterval(sampler)
        delay.disable()
        peak = Math.max(peak, process.memoryUsage().rss)
        return {
            buildSeconds,
            seconds,
            growthMB: (peak - before) / 2 ** 20,
            stallMs: delay.max / 1e6,
            probeMs: r.longest,
            bytes: r.bytes,
            probes: r.probes,
        }
    })
}

export const gatewayLimits: BenchSection = {
    name: "limits",
    description: "the gateway under abuse: forged seq-jump claims beside a syncing device, exporting a long chain",
    async run(options) {
        const requests = options.quick ? 200 : 1000
        const blocks = options.quick ? 20000 : 1000000
        const sync = await attackedSync(requests)
        const exp = await exportLong(blocks)
        const ratio = sync.attacked / sync.alone
        const f = (x: number) => Math.round(x).toLocaleString("en-US")
        return {
            lines: [
                `  one device syncing a block a request, p99 alone      ${sync.alone.toFixed(2).padStart(8)} ms  (${requests} requests; p50 ${sync.aloneP50.toFixed(2)} ms)`,
                `  the same while an attacker posts forged jumps      ${sync.attacked.toFixed(2).padStart(8)} ms  (p50 ${sync.attackedP50.toFixed(2)} ms; ${sync.attacks} forged claims meanwhile; ${ratio.toFixed(2)}x, goal <= 2)`,
                `  export of a ${f(blocks)}-block chain: RSS growth ${exp.growthMB.toFixed(1).padStart(8)} MB  (goal < 64; ${(exp.bytes / 2 ** 20).toFixed(0)} MB sent in ${exp.seconds.toFixed(1)} s; chain stored in ${exp.buildSeconds.toFixed(1)} s)`,
                `  longest event loop stall during the export    ${exp.stallMs.toFixed(1).padStart(8)} ms  (goal <= 50; the slowest of ${exp.probes} device requests meanwhile: ${exp.probeMs.toFixed(1)} ms)`,
            ],
            figures: {
                attackedSyncP99Ratio: Math.round(ratio * 100) / 100,
                exportRssGrowthMB: Math.round(exp.growthMB * 10) / 10,
                exportLoopStallMs: Math.round(exp.stallMs * 10) / 10,
            },
        }
    },
}
