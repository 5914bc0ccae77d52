/**
 * Key succession at the gateway: `POST /v1/devices/:id/succession` (admin) with
 * `{"key0": "<64 hex>", "genesis": "<hex>", "publicKey"?: "<64 hex>"}`, sent by
 * `fieldledger provision --force` (publicKey: the new chain's signing key pk_0, which replaces
 * the old chain's).
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
 * Kept apart from the gateway's own modules: its tables are migration 2 in store.ts (the stores
 * hold its SQL, closeChain), its route a group app.ts mounts behind the admin
 * check, its crypto the service's.
 */
import { Hono, MiddlewareHandler } from "hono"
import { constantTimeEqual, FormatError, isAllZero, toHex } from "../../src/lib/codec/bytes"
import { decodeBlock } from "../../src/lib/ledger/chain"
import { RECORD_GENESIS } from "../../src/lib/codec/format"
import { blockTag } from "../../src/lib/ledger/keys"
import { HttpError } from "./errors"
import { isKeyHex, KEY_TEXT, parseKeyHex } from "../../src/lib/codec/hexids"
import { readJsonObject } from "./jsonbody"
import { GatewayService, parsePublicKeyField } from "./service"
import type { NewEvent } from "./store"

export interface SuccessionResult {
    deviceId: string
    /** Number of the chain just closed (1 for the device's first chain). */
    closedChain: number
    closedHead: { seq: number; hash: string | null }
    /** The new genesis links to the gateway's last acknowledged head. */
    linkMatches: boolean
}

/** Closes the device's chain and installs the new K_0; HttpError on bad input. */
export async function succeed(
    service: GatewayService,
    idHex: string,
    input: { key0?: unknown; genesis?: unknown; publicKey?: unknown },
    now = Date.now()
): Promise<SuccessionResult> {
    const known = await service.device(idHex)
    if (!isKeyHex(input.key0)) throw new HttpError(400, "bad-request", '"key0" must be ' + KEY_TEXT)
    if (typeof input.genesis !== "string" || !/^([0-9a-fA-F]{2}){19,200}$/.test(input.genesis))
        throw new HttpError(400, "bad-request", '"genesis" must be the new genesis block in hex')
    const publicKey0 = parsePublicKeyField(input.publicKey)
    const id = Buffer.from(known.id, "hex")
    const key0 = parseKeyHex(input.key0, "key0")
    let genesis
    try {
        genesis = decodeBlock(Buffer.from(input.genesis, "hex"))
    } catch (e) {
        if (e instanceof FormatError) throw new HttpError(422, "malformed-block", "the genesis block is malformed: " + e.message)
        throw e
    }
    if (genesis.header.type !== RECORD_GENESIS || !genesis.genesis || !genesis.genesis.deviceId.equals(id))
        throw new HttpError(422, "not-a-genesis", "the block is not a genesis block of device " + known.id)
    if (!constantTimeEqual(blockTag(service.crypto, key0, id, genesis.content, genesis.header.link), genesis.tag))
        throw new HttpError(422, "bad-tag", "the genesis block is not tagged under the given key0")
    const link = genesis.header.link
    const sealed = service.sealDeviceKey(id, key0)
    key0.fill(0)

    // The head is compared and the chain closed with the device locked: another gateway
    // storing a block of it meanwhile would make the comparison stale.
    return service.store.withDevice(known.id, async tx => {
        const d = (await tx.device())!
        const linkMatches = d.headSeq >= 0 ? !!d.headHash && constantTimeEqual(link, d.headHash) : isAllZero(link)
        const closedChain = await tx.closeChain({
            previous: d,
            key0Sealed: sealed,
            successorLink: link,
            publicKey0,
            linkMatches,
            now,
            events: chain => {
                const events: NewEvent[] = [
                    {
                        kind: "key-succession",
                        seq: d.headSeq,
                        message: "chain " + chain + " closed at seq " + d.headSeq + "; a new K_0 and chain succeed it",
                        block: null,
                    },
                ]
                if (!linkMatches)
                    events.push({
                        kind: "succession-gap",
                        seq: d.headSeq,
                        message:
                            "the successor genesis links to " +
                            toHex(link).slice(0, 16) +
                            ", not to the last acknowledged head: blocks after seq " +
                            d.headSeq +
                            " never reached the gateway",
                        block: null,
                    })
                return events
            },
        })
        service.forgetSession(d.id)
        return { deviceId: d.id, closedChain, closedHead: { seq: d.headSeq, hash: d.headHash ? toHex(d.headHash) : null }, linkMatches }
    })
}

/**
 * The succession route as a group, for `app.route("/v1/devices", ...)`: `POST /:id/succession`,
 * behind `auth` (the admin check) on the route itself, so the group guards nothing else.
 */
export function successionRoutes(service: GatewayService, auth: MiddlewareHandler): Hono {
    return new Hono().post("/:id/succession", auth, async c => {
        const input = await readJsonObject(c, '{"key0": "<64 hex>", "genesis": "<hex>", "publicKey"?: "<64 hex>"}')
        return c.json(await succeed(service, c.req.param("id"), input), 201)
    })
}
