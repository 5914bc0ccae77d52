/**
 * Several gateway processes on one PostgreSQL database, under faults: the scenario behind the
 * multi-gateway test (test/node/gateway/fleet.test.ts) and the `fleet` bench section.
 *
 * Simulated devices (chains sealed in Node by the shared Ledger) post each batch to a gateway
 * picked at random, as a load balancer without affinity would, and sometimes the same batch to
 * two gateways at once (a device retrying while its first request is still in flight); they
 * check the signed ack as firmware does and resend from what was acknowledged. Meanwhile
 * gateways are killed with SIGKILL at random instants (after random shares of the traffic) and
 * restarted on their port. At the end the database is read directly: every chain must be
 * stored exactly once, complete, in order, with its device's totals, and verify from the
 * export; then one fork block is posted to two gateways at once.
 */
import { ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import pg from "pg"
import { decodeBlock, newChainHead, sealBlock } from "../../src/lib/ledger/chain"
import { ChannelSpec, RECORD_DATA } from "../../src/lib/codec/format"
import { ReadingsBuilder } from "../../src/lib/codec/readings"
import { deriveEpochKey } from "../../src/lib/ledger/keys"
import { Ledger } from "../../src/lib/ledger/ledger"
import { verifyChain } from "../../src/lib/ledger/verify"
import { syncPath } from "../../src/lib/sync/gatewayurl"
import { deriveAckKey, encodeBatch, readSignedAck } from "../../src/lib/sync/syncwire"
import { parseExport } from "../lib/exportfile"
import { nodeCrypto } from "../lib/crypto"
import { freePort } from "../lib/ports"
import { seededRandom } from "../lib/random"

const CLI = new URL("../../bin/fieldledger.mjs", import.meta.url).pathname
const CHANNELS: ChannelSpec[] = [
    { name: "temperature", unit: "degC", exponent: -2 },
    { name: "humidity", unit: "%RH", exponent: -2 },
]
/** How long a gateway may take to print its URL (tsx compiles the tools on start). */
const START_LIMIT_MS = 60_000

export const FLEET_ADMIN_TOKEN = "fleet-admin-token"
export const FLEET_MASTER_KEY = Buffer.alloc(32, 0x6d)
export const FLEET_LOG_KEY = Buffer.alloc(32, 0x6c)

/** Gateway processes alive: killed if this process exits first (a failed test, an interrupted bench). */
const alive = new Set<ChildProcess>()
process.on("exit", () => {
    for (const child of alive) child.kill("SIGKILL")
})

/** One `fieldledger gateway` process on a fixed port, which can be killed and started again. */
export class GatewayProcess {
    private child: ChildProcess | undefined
    /** Everything it wrote to stderr, over all its lives. */
    errors = ""
    readonly url: string

    constructor(
        readonly dbUrl: string,
        readonly port: number
    ) {
        this.url = "http://127.0.0.1:" + port
    }

    /** Starts it; resolves once it listens (rejects with its output if it exits first). */
    start(): Promise<void> {
        const child = spawn(
            process.execPath,
            [CLI, "gateway", "--db", this.dbUrl, "--port", String(this.port), "--log-origin", "fieldledger.test/fleet"],
            {
                env: {
                    ...process.env,
                    FL_MASTER_KEY: FLEET_MASTER_KEY.toString("hex"),
                    // One log for the fleet: every gateway signs its checkpoints with the same key.
                    FL_LOG_KEY: FLEET_LOG_KEY.toString("hex"),
                    FL_ADMIN_TOKEN: FLEET_ADMIN_TOKEN,
                    FL_DB_URL: "",
                },
                stdio: ["ignore", "pipe", "pipe"],
            }
        )
        this.child = child
        alive.add(child)
        child.once("exit", () => alive.delete(child))
        let output = ""
        child.stderr!.on("data", d => (this.errors += d))
        return new Promise((resolve, reject) => {
            const timer = setTimeout(
                () => reject(new Error("gateway on port " + this.port + " did not listen within 60 s: " + output)),
                START_LIMIT_MS
            )
            child.stdout!.on("data", d => {
                output += d
                if (output.includes("listening on")) {
                    clearTimeout(timer)
                    resolve()
                }
            })
            child.once("exit", code => {
                clearTimeout(timer)
                reject(new Error("gateway on port " + this.port + " exited (" + code + ") before listening: " + output + this.errors))
            })
        })
    }

    /** SIGKILL: no shutdown of any kind; resolves once the process is gone. */
    async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
        const child = this.child
        if (!child || child.exitCode !== null || child.signalCode !== null) return
        const gone = new Promise(resolve => child.once("exit", resolve))
        child.kill(signal)
        await gone
    }
}

/** Starts the gateways on one database (the first creates the schema; the others find it) and registers the devices through the first. */
export async function startFleet(gateways: GatewayProcess[], devices: { id: Buffer; key0: Buffer }[]): Promise<void> {
    await gateways[0].start()
    await Promise.all(gateways.slice(1).map(g => g.start()))
    for (const d of devices) {
        const res = await fetch(gateways[0].url + "/v1/devices", {
            method: "POST",
            headers: { authorization: "Bearer " + FLEET_ADMIN_TOKEN, "content-type": "application/json" },
            body: JSON.stringify({ deviceId: d.id.toString("hex"), key0: d.key0.toString("hex") }),
        })
        if (res.status !== 201) throw new Error("registration refused: " + res.status + " " + (await res.text()))
    }
}

export interface FleetDevice {
    id: Buffer
    key0: Buffer
    blocks: { bytes: Buffer; hash: Buffer }[]
    readings: number
}

/** A device's chain: genesis, then `blocks - 1` data blocks of a few readings. */
export function fleetDevice(n: number, blocks: number): FleetDevice {
    const id = Buffer.alloc(8)
    id.writeUInt32BE(0xf1ee7000, 0)
    id.writeUInt32BE(n, 4)
    const key0 = Buffer.alloc(32, n + 1)
    const ledger = new Ledger(nodeCrypto, id, CHANNELS, newChainHead(Buffer.from(key0)), { intervalMs: 1000, maxReadingsPerBlock: 4 })
    const sealed = [ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "fieldledger/fleet", "sim")]
    let i = 0
    while (sealed.length < blocks) {
        sealed.push(...ledger.append([2000 + ((i * 7) % 50), 4000 + ((i * 3) % 90)], { boot: 0, uptimeMs: 1000 + i * 1000 }))
        i++
    }
    const chain = sealed.slice(0, blocks)
    const readings = chain.reduce((n, b) => n + decodeBlock(b.bytes).header.readingCount, 0)
    return { id, key0, blocks: chain.map(b => ({ bytes: b.bytes, hash: b.hash })), readings }
}

type Reply = { status: number; body: any } | undefined

async function postBatch(url: string, device: FleetDevice, blocks: Buffer[], nonce: Buffer): Promise<Reply> {
    try {
        const res = await fetch(url + syncPath(device.id.toString("hex")), {
            method: "POST",
            headers: { "content-type": "application/octet-stream" },
            body: new Uint8Array(encodeBatch(nonce, blocks)),
        })
        return { status: res.status, body: await res.json() }
    } catch {
        // Refused or cut: the gateway was killed (or is starting again).
        return undefined
    }
}

export interface FleetRunOptions {
    dbUrl: string
    gateways?: number
    devices?: number
    blocksPerDevice?: number
    /** Gateways killed (one at a time) during the traffic. */
    kills?: number
    seed?: number
    log?: (line: string) => void
}

export interface FleetRunResult {
    seed: number
    kills: number
    requests: number
    /** Requests that met a dead gateway (refused or cut), then retried. */
    failedRequests: number
    blocks: number
    /** Blocks of the chains missing from the database, or stored with other bytes. */
    lost: number
    /** Rows or counted blocks beyond one per block of the chains. */
    duplicated: number
    /** Devices whose gateway export verifies (against the chain's real head). */
    verified: number
    /** The two replies to one fork posted to two gateways at once, and its recorded events. */
    fork: { statuses: number[]; codes: string[]; eventRows: number; eventCount: number }
    /** Anything no device should see: replies other than 200, acks that do not check, 5xx. */
    unexpected: string[]
    gatewayErrors: string
    seconds: number
}

/** The whole scenario: starts the gateways, runs it, stops them; the database is `dbUrl`'s. */
export async function runFleetFaultRun(options: FleetRunOptions): Promise<FleetRunResult> {
    const seed = options.seed ?? Date.now() % 1_000_000
    const random = seededRandom(seed)
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]
    const log = options.log ?? (() => {})
    const devices = Array.from({ length: options.devices ?? 6 }, (_, n) => fleetDevice(n, options.blocksPerDevice ?? 60))
    const total = devices.reduce((n, d) => n + d.blocks.length, 0)
    const ports = []
    for (let i = 0; i < (options.gateways ?? 3); i++) ports.push(await freePort())
    const gateways = ports.map(p => new GatewayProcess(options.dbUrl, p))
    const unexpected: string[] = []
    let requests = 0
    let failedRequests = 0
    let kills = 0
    const started = performance.now()
    try {
        await startFleet(gateways, devices)
        log(`seed ${seed}: ${devices.length} devices x ${devices[0].blocks.length} blocks over ${gateways.length} gateways`)

        let acked = 0
        const ackedOf = devices.map(() => -1)
        // Kills at random shares of the traffic, each a random moment after its share is reached.
        const marks = Array.from({ length: options.kills ?? 4 }, () => 0.1 + random() * 0.75).sort((a, b) => a - b)
        // The traffic waits for a kill that is due, a little past its mark, so that every kill
        // happens during the traffic however slowly a loaded machine runs the killer or the restarts.
        const killOverdue = () => kills < marks.length && acked >= (marks[kills] + 0.05) * total
        const device = async (n: number) => {
            const d = devices[n]
            const ackKey = deriveAckKey(nodeCrypto, d.key0, d.id)
            while (ackedOf[n] < d.blocks.length - 1) {
                while (killOverdue()) await new Promise(resolve => setTimeout(resolve, 5))
                // Mostly from the first unacknowledged block; sometimes again from a little
                // earlier (a device whose ack was lost resends what it still holds).
                const from = Math.max(0, ackedOf[n] + 1 - (random() < 0.2 ? 1 + Math.floor(random() * 3) : 0))
                const blocks = d.blocks.slice(from, from + 1 + Math.floor(random() * 6)).map(b => b.bytes)
                const targets = random() < 0.2 ? [pick(gateways), pick(gateways)] : [pick(gateways)]
                const sent = targets.map(async g => {
                    const nonce = randomBytes(8)
                    requests++
                    const reply = await postBatch(g.url, d, blocks, nonce)
                    if (!reply || reply.status === 502 || reply.status === 503) {
                        failedRequests++
                        return
                    }
                    if (reply.status !== 200) {
                        unexpected.push(`device ${n} seq ${from}: ${reply.status} ${JSON.stringify(reply.body)}`)
                        return
                    }
                    const ack = readSignedAck(nodeCrypto, ackKey, d.id, nonce, reply.body)
                    if (!ack) {
                        unexpected.push(`device ${n}: an ack that does not check: ${JSON.stringify(reply.body)}`)
                        return
                    }
                    if (ack.ack >= 0 && !ack.head.equals(d.blocks[ack.ack].hash))
                        unexpected.push(`device ${n}: ack ${ack.ack} names another head`)
                    if (ack.ack > ackedOf[n]) {
                        acked += ack.ack - ackedOf[n]
                        ackedOf[n] = ack.ack
                    }
                })
                await Promise.all(sent)
                await new Promise(resolve => setTimeout(resolve, random() * 15))
            }
        }
        let done = false
        const down = new Set<GatewayProcess>()
        const restarts: Promise<void>[] = []
        const killer = (async () => {
            for (const mark of marks) {
                while (!done && acked < mark * total) await new Promise(resolve => setTimeout(resolve, 2))
                if (done) return
                await new Promise(resolve => setTimeout(resolve, random() * 20))
                // One gateway at least stays up (a fleet behind a balancer loses one at a time).
                while (down.size >= gateways.length - 1) await new Promise(resolve => setTimeout(resolve, 10))
                const g = pick(gateways.filter(x => !down.has(x)))
                down.add(g)
                await g.kill()
                kills++
                log(`killed the gateway on port ${g.port} at ${acked}/${total} blocks acknowledged`)
                restarts.push(g.start().then((): void => void down.delete(g)))
            }
        })()
        await Promise.all(devices.map((_, n) => device(n)))
        done = true
        await killer
        await Promise.all(restarts)

        const db = new pg.Client({ connectionString: options.dbUrl })
        await db.connect()
        let lost = 0
        let duplicated = 0
        let verified = 0
        let fork: FleetRunResult["fork"]
        try {
            for (const d of devices) {
                const id = d.id.toString("hex")
                const rows = (await db.query("SELECT seq, hash FROM blocks WHERE device_id = $1 ORDER BY seq", [id])).rows as {
                    seq: string
                    hash: Buffer
                }[]
                const bySeq = new Map<number, Buffer[]>()
                for (const r of rows) bySeq.set(Number(r.seq), [...(bySeq.get(Number(r.seq)) ?? []), r.hash])
                d.blocks.forEach((b, seq) => {
                    if (!bySeq.get(seq)?.some(h => h.equals(b.hash))) lost++
                })
                duplicated += Math.max(0, rows.length - d.blocks.length)
                const row = (await db.query("SELECT block_count, readings, head_seq FROM devices WHERE id = $1", [id])).rows[0]
                duplicated += Math.max(0, Number(row.block_count) - d.blocks.length)
                if (Number(row.readings) !== d.readings)
                    unexpected.push(`device ${id}: ${row.readings} readings counted, ${d.readings} sent`)
                const exported = parseExport(
                    await (
                        await fetch(pick(gateways).url + "/v1/devices/" + id + "/export", {
                            headers: { authorization: "Bearer " + FLEET_ADMIN_TOKEN },
                        })
                    ).text()
                )
                const head = d.blocks[d.blocks.length - 1]
                const report = verifyChain(nodeCrypto, exported.blocks, {
                    deviceId: d.id,
                    key0: d.key0,
                    expectedHead: { seq: d.blocks.length - 1, hash: head.hash },
                })
                if (report.ok && exported.blocks.length === d.blocks.length) verified++
                else
                    unexpected.push(`device ${id}: the export does not verify: ${JSON.stringify(report.failure ?? exported.blocks.length)}`)
            }
            fork = await forkAtTwoGateways(devices[0], gateways, db)
        } finally {
            await db.end()
        }
        return {
            seed,
            kills,
            requests,
            failedRequests,
            blocks: total,
            lost,
            duplicated,
            verified,
            fork,
            unexpected,
            gatewayErrors: gateways.map(g => g.errors).join(""),
            seconds: (performance.now() - started) / 1000,
        }
    } finally {
        await Promise.all(gateways.map(g => g.kill("SIGTERM")))
    }
}

/**
 * Another block 2 after the device's block 1, tagged under K_2 (what only a holder of K_2 can
 * make), posted to two gateways at the same moment.
 */
async function forkAtTwoGateways(d: FleetDevice, gateways: GatewayProcess[], db: pg.Client): Promise<FleetRunResult["fork"]> {
    const readings = new ReadingsBuilder(CHANNELS.length)
    readings.add([1, 2])
    const head = { seq: 2, link: d.blocks[1].hash, key: deriveEpochKey(nodeCrypto, d.key0, d.id, 2) }
    const block = sealBlock(nodeCrypto, d.id, head, {
        type: RECORD_DATA,
        time: { boot: 0, uptimeMs: 999_000 },
        intervalMs: 1000,
        readings,
    }).block
    const replies = await Promise.all(gateways.slice(0, 2).map(g => postBatch(g.url, d, [block.bytes], randomBytes(8))))
    const events = (await db.query("SELECT count FROM events WHERE device_id = $1 AND kind = 'fork'", [d.id.toString("hex")])).rows as {
        count: string
    }[]
    return {
        statuses: replies.map(r => r?.status ?? 0),
        codes: replies.map(r => r?.body?.error ?? ""),
        eventRows: events.length,
        eventCount: events.reduce((n, e) => n + Number(e.count), 0),
    }
}
