/** A gateway in process on a temporary SQLite file, and chains to feed it. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach } from "vitest"
import { decodeBlock, SealedBlock } from "../../../src/lib/ledger/chain"
import { encodeBatch } from "../../../src/lib/sync/syncwire"
import { createGatewayApp } from "../../../tools/gateway/app"
import { GatewayService } from "../../../tools/gateway/service"
import { SqliteStore } from "../../../tools/gateway/store"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { createReadToken } from "../../../tools/gateway/tokencli"
import { buildChain, DEVICE_ID, testKey } from "../helpers/chains"

export const ADMIN_TOKEN = "test-admin-token"
export const MASTER_KEY = Buffer.alloc(32, 0x5a)
export const NONCE = Buffer.from("0102030405060708", "hex")
export const NOW = Date.UTC(2026, 0, 2, 3, 4, 5)
export const ID = DEVICE_ID.toString("hex")

export interface TestGateway {
    dir: string
    dbPath: string
    store: SqliteStore
    service: GatewayService
    app: ReturnType<typeof createGatewayApp>
    /** A read token of every device, created with the gateway: get() sends it. */
    readToken: string
    close(): Promise<void>
}

/** The headers of a read with the gateway's read token (docs/API.md, "Access"). */
export function readHeaders(gw: { readToken: string }, headers: Record<string, string> = {}): Record<string, string> {
    return { authorization: "Bearer " + gw.readToken, ...headers }
}

/** `now` is the service's and the dashboard's clock (fixed at NOW unless a test moves it). */
export async function openGateway(
    dir = mkdtempSync(join(tmpdir(), "fl-gateway-")),
    masterKey = MASTER_KEY,
    now: () => number = () => NOW
): Promise<TestGateway> {
    const dbPath = join(dir, "gateway.db")
    const store = new SqliteStore(dbPath)
    const service = await GatewayService.open({ store, masterKey, now })
    const app = createGatewayApp({ service, adminToken: ADMIN_TOKEN, log: () => {}, now })
    const { token: readToken } = await createReadToken(store, { label: "test" })
    return { dir, dbPath, store, service, app, readToken, close: () => store.close() }
}

export function removeDir(dir: string) {
    rmSync(dir, { recursive: true, force: true })
}

export function registerTestDevice(gw: TestGateway, key = testKey(), id = ID) {
    return gw.service.register({ deviceId: id, key0: key.toString("hex"), label: "test device" })
}

export function batch(blocks: (SealedBlock | Buffer)[], nonce = NONCE): Buffer {
    return encodeBatch(
        nonce,
        blocks.map(b => (Buffer.isBuffer(b) ? b : b.bytes))
    )
}

export async function post(gw: TestGateway, body: Buffer, path = "/v1/devices/" + ID + "/blocks") {
    const res = await gw.app.request(path, {
        method: "POST",
        body: new Uint8Array(body),
        headers: { "content-type": "application/octet-stream" },
    })
    const text = await res.text()
    return { status: res.status, body: JSON.parse(text), bytes: text.length }
}

/** A read with the gateway's read token. */
export async function get(gw: TestGateway, path: string) {
    const res = await gw.app.request(path, { headers: readHeaders(gw) })
    const text = await res.text()
    return {
        status: res.status,
        text,
        body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined,
        type: res.headers.get("content-type"),
    }
}

/** Blocks table as (seq, hash) pairs and the device row: what must not change on a rejected batch. */
export function snapshot(gw: TestGateway) {
    return {
        blocks: gw.store.db.prepare("SELECT device_id, seq, hex(hash) AS h FROM blocks ORDER BY device_id, seq").all(),
        devices: gw.store.db
            .prepare("SELECT id, head_seq, hex(head_hash) AS h, block_count, readings, last_seen, reported_backlog FROM devices")
            .all(),
    }
}

/**
 * A chain whose device dropped blocks firstLost..firstLost+lost-1 from its backlog and then
 * sealed a gap record declaring them: `all` every sealed block in seq order (dropped ones
 * included), `gap` the record.
 */
export function droppedChain(options: { dataBlocks?: number; firstLost: number; lost: number; key?: Buffer; lastLostHash?: Buffer }) {
    const c = buildChain(nodeCrypto, { gap: false, dataBlocks: options.dataBlocks ?? 6, key: options.key })
    const dropped = c.blocks.slice(options.firstLost, options.firstLost + options.lost)
    const [gap] = c.ledger.sealGap(
        {
            reason: 1,
            lostReadings: dropped.reduce((n, b) => n + decodeBlock(b.bytes).header.readingCount, 0),
            lostBlocks: options.lost,
            firstLostSeq: options.firstLost,
            lastLostHash: options.lastLostHash ?? dropped[dropped.length - 1].hash,
            from: decodeBlock(dropped[0].bytes).header.time,
        },
        { boot: 0, uptimeMs: 500000 }
    )
    return { all: c.blocks, gap }
}

/**
 * A fresh gateway for each test of the file, with the test device registered (unless
 * `register` is false), closed and removed after it. The object returned stands for the
 * current test's gateway (it forwards to it), so tests use it like a TestGateway.
 */
export function gatewayPerTest(options: { now?: () => number; register?: boolean } = {}): TestGateway {
    let current: TestGateway | undefined
    beforeEach(async () => {
        current = await openGateway(undefined, undefined, options.now)
        if (options.register !== false) await registerTestDevice(current)
    })
    afterEach(async () => {
        await current?.close()
        if (current) removeDir(current.dir)
        current = undefined
    })
    return new Proxy({} as TestGateway, {
        get: (_, key) => {
            if (!current) throw new Error("the gateway exists only while a test runs")
            return current[key as keyof TestGateway]
        },
    })
}
