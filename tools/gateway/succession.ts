/**
 * Key succession at the gateway: `POST /v1/devices/:id/succession` (admin) with
 * `{"key0": "<64 hex>", "genesis": "<hex>"}`, sent by `fieldledger provision --force`.
 *
 * The device was re-provisioned: it holds a new K_0 and sealed a new genesis block whose link is
 * its old chain's head. The gateway closes the old chain at its last acknowledged head (its
 * blocks move to `succession_blocks`, numbered by chain, with a `succession_chains` row naming
 * the closed head), replaces the device's K_0 and starts it afresh, so the new genesis is
 * ingested as seq 0. The genesis must be tagged under the new K_0 and name this device. If its
 * link is not the gateway's last acknowledged head, the device sealed blocks the gateway never
 * got: the succession is accepted (the device already runs the new chain) and a security
 * event `succession-gap` records it, so the loss is never silent.
 *
 * Kept apart from the gateway's own modules (its tables are migration 2 in store.ts; the route
 * is mounted by one line in app.ts, behind the app's admin check).
 */
import type { Context, Hono } from "hono"
import { constantTimeEqual, FormatError, isAllZero, toHex } from "../../src/lib/codec/bytes"
import { decodeBlock } from "../../src/lib/ledger/chain"
import { RECORD_GENESIS } from "../../src/lib/codec/format"
import { blockTag } from "../../src/lib/ledger/keys"
import { nodeCrypto } from "../lib/crypto"
import { HttpError } from "./errors"
import { DEVICE_ID_PATTERN, GatewayService } from "./service"

/** Checks the admin token and reads a JSON object body (`shape` says what it should be); HttpError otherwise. */
export type AdminBodyReader = (c: Context, shape: string) => Promise<Record<string, unknown>>

export interface SuccessionResult {
    deviceId: string
    /** Number of the chain just closed (1 for the device's first chain). */
    closedChain: number
    closedHead: { seq: number; hash: string | null }
    /** The new genesis links to the gateway's last acknowledged head. */
    linkMatches: boolean
}

/** Closes the device's chain and installs the new K_0; HttpError on bad input. */
export function succeed(service: GatewayService, idHex: string, input: { key0?: unknown; genesis?: unknown }, now = Date.now()): SuccessionResult {
    const d = DEVICE_ID_PATTERN.test(idHex) ? service.store.device(idHex) : undefined
    if (!d) throw new HttpError(404, "unknown-device", "no device " + idHex + " is registered")
    if (typeof input.key0 !== "string" || !/^[0-9a-fA-F]{64}$/.test(input.key0)) throw new HttpError(400, "bad-request", '"key0" must be 64 hex digits')
    if (typeof input.genesis !== "string" || !/^([0-9a-fA-F]{2}){19,200}$/.test(input.genesis)) throw new HttpError(400, "bad-request", '"genesis" must be the new genesis block in hex')
    const id = Buffer.from(idHex, "hex")
    const key0 = Buffer.from(input.key0, "hex")
    let genesis
    try {
        genesis = decodeBlock(Buffer.from(input.genesis, "hex"))
    } catch (e) {
        if (e instanceof FormatError) throw new HttpError(422, "malformed-block", "the genesis block is malformed: " + e.message)
        throw e
    }
    if (genesis.header.type !== RECORD_GENESIS || !genesis.genesis || !genesis.genesis.deviceId.equals(id))
        throw new HttpError(422, "not-a-genesis", "the block is not a genesis block of device " + idHex)
    if (!constantTimeEqual(blockTag(nodeCrypto, key0, id, genesis.content, genesis.header.link), genesis.tag)) throw new HttpError(422, "bad-tag", "the genesis block is not tagged under the given key0")
    const link = genesis.header.link
    const linkMatches = d.headSeq >= 0 ? !!d.headHash && constantTimeEqual(link, d.headHash) : isAllZero(link)

    const db = service.store.db
    const sealed = service.sealDeviceKey(id, key0)
    key0.fill(0)
    let closedChain = 0
    db.transaction(() => {
        closedChain = ((db.prepare(`SELECT max(chain) FROM succession_chains WHERE device_id = ?`).pluck().get(idHex) as number | null) ?? 0) + 1
        db.prepare(`INSERT INTO succession_chains VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(idHex, closedChain, d.key0Sealed, d.headSeq, d.headHash, link, linkMatches ? 1 : 0, now)
        db.prepare(
            `INSERT INTO succession_blocks SELECT device_id, ?, seq, type, boot, uptime_ms, unix_time, reading_count, lost_readings, lost_blocks, hash, bytes, received_at FROM blocks WHERE device_id = ?`
        ).run(closedChain, idHex)
        db.prepare(`DELETE FROM blocks WHERE device_id = ?`).run(idHex)
        db.prepare(
            `UPDATE devices SET key0_sealed = ?, head_seq = -1, head_hash = NULL, block_count = 0, readings = 0, gap_records = 0, readings_lost = 0, blocks_lost = 0, reported_backlog = NULL WHERE id = ?`
        ).run(sealed, idHex)
        const event = db.prepare(`INSERT INTO events (device_id, time, kind, seq, message, block, block_hash) VALUES (?, ?, ?, ?, ?, ?, ?)`)
        event.run(idHex, now, "key-succession", d.headSeq, "chain " + closedChain + " closed at seq " + d.headSeq + "; a new K_0 and chain succeed it", null, null)
        if (!linkMatches)
            event.run(idHex, now, "succession-gap", d.headSeq, "the successor genesis links to " + toHex(link).slice(0, 16) + ", not to the last acknowledged head: blocks after seq " + d.headSeq + " never reached the gateway", null, null)
    })()
    service.forgetSession(idHex)
    return { deviceId: idHex, closedChain, closedHead: { seq: d.headSeq, hash: d.headHash ? toHex(d.headHash) : null }, linkMatches }
}

/** Adds the succession route to the gateway app (one line in app.ts), behind its admin check. */
export function mountSuccession(app: Hono, service: GatewayService, adminBody: AdminBodyReader) {
    app.post("/v1/devices/:id/succession", async c => {
        const input = await adminBody(c, '{"key0": "<64 hex>", "genesis": "<hex>"}')
        return c.json(succeed(service, c.req.param("id"), input as { key0?: unknown; genesis?: unknown }), 201)
    })
}
