/**
 * The gateway's transparency log in process: leaves appended with the blocks, the ack's log
 * position and receipt, signed checkpoints, the tlog-tiles routes and proofs, durability across
 * a reopen, and the refusal to sign a second root for a size.
 */
import { afterEach, describe, expect, it } from "vitest"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { openCheckpoint } from "../../../tools/lib/tlog/checkpoint"
import { decodeBundle, decodeLeaf, encodeLeaf } from "../../../tools/lib/tlog/leaf"
import { leafHash, verifyConsistency, verifyInclusion } from "../../../tools/lib/tlog/merkle"
import { parseVerifierKey } from "../../../tools/lib/tlog/note"
import { LogIntegrator, LogIntegrityError } from "../../../tools/gateway/tlog/integrator"
import { LOG_MIGRATION } from "../../../tools/gateway/tlog/sqlitelogstore"
import { MIGRATIONS } from "../../../tools/gateway/store"
import { openReceipt } from "../../../tools/gateway/tlog/receipt"
import { buildChain, OTHER_DEVICE_ID, testKey } from "../helpers/chains"
import { batch, get, ID, post, registerTestDevice, removeDir } from "../gateway/helpers"
import { LOG, LogGateway, openLogGateway } from "./helpers"

const verifier = parseVerifierKey(LOG.verifierKey)
const OTHER = OTHER_DEVICE_ID.toString("hex")

let gw: LogGateway
afterEach(async () => {
    await gw?.close()
    if (gw) removeDir(gw.dir)
})

async function checkpointNow() {
    const res = await get(gw, "/v1/log/checkpoint")
    expect(res.status).toBe(200)
    expect(res.type).toBe("text/plain; charset=utf-8")
    return openCheckpoint(res.text, verifier)
}

describe("the gateway's log", () => {
    it("logs each stored block once, in the batch's transaction, and the ack names where (signed receipt)", async () => {
        gw = await openLogGateway()
        await registerTestDevice(gw)
        const chain = buildChain(nodeCrypto, { dataBlocks: 6 }).blocks
        await gw.sign()
        expect((await checkpointNow()).size).toBe(0)
        const r1 = await post(gw, batch(chain.slice(0, 3)))
        expect(r1.status).toBe(200)
        expect([r1.body.logIndex, r1.body.logSize]).toEqual([2, 3])
        const receipt = openReceipt(r1.body.logReceipt, verifier)
        expect(receipt).toMatchObject({ origin: LOG.origin, deviceId: ID, chain: 0, seq: 2, index: 2 })
        expect(receipt.hash.equals(chain[2].hash)).toBe(true)
        // Re-delivered blocks are acked with the same position and not logged again.
        const again = await post(gw, batch(chain.slice(0, 3)))
        expect([again.body.duplicates, again.body.logIndex, again.body.logSize]).toEqual([3, 2, 3])
        // A second device interleaves.
        await registerTestDevice(gw, testKey(0x22), OTHER)
        const other = buildChain(nodeCrypto, { deviceId: OTHER_DEVICE_ID, key: testKey(0x22), dataBlocks: 2 }).blocks
        expect((await post(gw, batch(other), "/v1/devices/" + OTHER + "/blocks")).body.logIndex).toBe(3 + other.length - 1)
        const r2 = await post(gw, batch(chain.slice(3)))
        expect(r2.body.logIndex).toBe(3 + other.length + chain.length - 4)
        const total = chain.length + other.length
        expect(gw.store.db.prepare("SELECT count(*) FROM log_leaves").pluck().get()).toBe(total)

        // Nothing is served past the last signed checkpoint.
        expect((await checkpointNow()).size).toBe(0)
        expect((await get(gw, "/v1/log/proof/inclusion?index=0")).status).toBe(400)
        await gw.sign()
        const cp = await checkpointNow()
        expect(cp.size).toBe(total)

        // Inclusion by (device, seq): the entry is the block's, the proof leads to the signed root.
        for (const seq of [0, 2, chain.length - 1]) {
            const res = await get(gw, "/v1/log/proof/inclusion?device=" + ID + "&seq=" + seq)
            expect(res.status).toBe(200)
            const entry = Buffer.from(res.body.entry, "base64")
            expect(decodeLeaf(entry)).toEqual({ deviceId: ID, chain: 0, seq, hash: chain[seq].hash })
            const proof = res.body.proof.map((p: string) => Buffer.from(p, "base64"))
            expect(verifyInclusion(res.body.index, cp.size, leafHash(entry), proof, cp.root)).toBe(true)
        }
        // The level-0 tile is the leaf hashes of the entry bundle, in order.
        const tile = Buffer.from(await (await gw.app.request("/v1/log/tile/0/000.p/" + total)).arrayBuffer())
        const bundle = decodeBundle(Buffer.from(await (await gw.app.request("/v1/log/tile/entries/000.p/" + total)).arrayBuffer()))
        expect(bundle.length).toBe(total)
        expect(tile.equals(Buffer.concat(bundle.map(e => leafHash(e))))).toBe(true)
        expect(bundle.map(e => decodeLeaf(e).deviceId)).toEqual([
            ...Array(3).fill(ID),
            ...Array(other.length).fill(OTHER),
            ...Array(chain.length - 3).fill(ID),
        ])
        expect(encodeLeaf(decodeLeaf(bundle[0])).equals(bundle[0])).toBe(true)
        // Consistency with the empty tree and with a size past the checkpoint.
        expect((await get(gw, "/v1/log/proof/consistency?from=3&to=" + (total + 1))).status).toBe(400)
        const dev = (await get(gw, "/v1/devices/" + ID)).body
        expect(dev.loggedUpTo).toBe(chain.length - 1)
    })

    it("keeps its checkpoints across a reopen, signs a size once, and proves each new checkpoint extends the last", async () => {
        gw = await openLogGateway()
        await registerTestDevice(gw)
        const chain = buildChain(nodeCrypto, { dataBlocks: 40, perBlock: 2 }).blocks
        const sizes: { size: number; root: Buffer; note: string }[] = []
        for (let i = 0; i < chain.length; i += 9) {
            await post(gw, batch(chain.slice(i, i + 9)))
            await gw.sign()
            const cp = await checkpointNow()
            sizes.push(cp)
        }
        const dir = gw.dir
        await gw.close()
        gw = await openLogGateway(dir)
        await gw.sign()
        const last = sizes[sizes.length - 1]
        const cp = await checkpointNow()
        // Nothing new: the same checkpoint, not re-signed.
        expect(cp.note).toBe(last.note)
        for (const old of sizes) {
            const res = await get(gw, "/v1/log/proof/consistency?from=" + old.size)
            expect(
                verifyConsistency(
                    old.size,
                    cp.size,
                    old.root,
                    cp.root,
                    res.body.proof.map((p: string) => Buffer.from(p, "base64"))
                )
            ).toBe(true)
            expect((await get(gw, "/v1/log/checkpoints/" + old.size)).text).toBe(old.note)
        }
    })

    it("refuses to sign a size that already has a checkpoint with another root", async () => {
        gw = await openLogGateway()
        await registerTestDevice(gw)
        const chain = buildChain(nodeCrypto).blocks
        await post(gw, batch(chain))
        const log = gw.store.log
        const forged = { size: chain.length, root: Buffer.alloc(32, 1), time: 1, note: "forged\n" }
        expect((await log.putCheckpoint(forged)).root.equals(forged.root)).toBe(true)
        // First writer wins: a second put of that size returns the stored one.
        expect((await log.putCheckpoint({ ...forged, root: Buffer.alloc(32, 2) })).root.equals(forged.root)).toBe(true)
        await expect(gw.service.logIntegrator.checkpoint()).rejects.toThrow(LogIntegrityError)
        // Another integrator that ran first: the compare-and-set of the integrated size leaves one writer.
        const a = new LogIntegrator({ store: log, signer: LOG.signer, origin: LOG.origin })
        expect(await log.integratedSize()).toBe(chain.length)
        expect(await a.step()).toBe(chain.length)
        expect(await log.putTiles(0, 5, [])).toBe(false)
    })

    it("a database from before the log gets it by its migration: the stored blocks, closed chains included, are logged in arrival order", async () => {
        gw = await openLogGateway()
        await registerTestDevice(gw)
        const chain = buildChain(nodeCrypto).blocks
        await post(gw, batch(chain))
        await registerTestDevice(gw, testKey(0x22), OTHER)
        await post(
            gw,
            batch(buildChain(nodeCrypto, { deviceId: OTHER_DEVICE_ID, key: testKey(0x22), dataBlocks: 1 }).blocks),
            "/v1/devices/" + OTHER + "/blocks"
        )
        // One block of a closed chain, as a key succession leaves it.
        gw.store.db.prepare("INSERT INTO succession_chains VALUES (?, 1, x'00', 0, NULL, x'00', 1, 0)").run(ID)
        gw.store.db
            .prepare(
                "INSERT INTO succession_blocks SELECT device_id, 1, seq, type, boot, uptime_ms, unix_time, reading_count, lost_readings, lost_blocks, hash, bytes, 1 FROM blocks WHERE device_id = ? AND seq = 0"
            )
            .run(ID)
        const expected = gw.store.db.prepare("SELECT count(*) FROM blocks").pluck().get() as number
        // Back to the schema before the log (and the migrations after it: the signing keys, the read tokens).
        gw.store.db.exec(
            "DROP TABLE log_size; DROP TABLE log_integrated; DROP TABLE log_leaves; DROP TABLE log_tiles; DROP TABLE log_checkpoints; DROP TABLE signing_keys; DROP TABLE read_tokens"
        )
        gw.store.db.pragma("user_version = " + MIGRATIONS.indexOf(LOG_MIGRATION))
        const dir = gw.dir
        await gw.close()
        gw = await openLogGateway(dir)
        await gw.sign()
        expect((await checkpointNow()).size).toBe(expected + 1)
        const bundle = decodeBundle(
            Buffer.from(await (await gw.app.request("/v1/log/tile/entries/000.p/" + (expected + 1))).arrayBuffer())
        ).map(decodeLeaf)
        // The closed chain's block arrived first (received_at 1), then the current chains' blocks.
        expect(bundle[0]).toMatchObject({ deviceId: ID, chain: 0, seq: 0 })
        expect(bundle.filter(e => e.deviceId === ID && e.chain === 1).map(e => e.seq)).toEqual(chain.map((_, i) => i))
        expect(bundle.filter(e => e.deviceId === OTHER).every(e => e.chain === 0)).toBe(true)
    })

    it("answers bad log requests with 400 or 404 and changes nothing", async () => {
        gw = await openLogGateway()
        await gw.sign()
        for (const [path, status] of [
            ["/v1/log/tile/0/1234", 404],
            ["/v1/log/tile/0/000", 404],
            ["/v1/log/tile/entries/000.p/1", 404],
            ["/v1/log/proof/inclusion?index=x", 400],
            ["/v1/log/proof/inclusion?device=zz&seq=1", 400],
            ["/v1/log/proof/inclusion?device=" + ID + "&seq=1", 404],
            ["/v1/log/proof/consistency", 400],
            ["/v1/log/checkpoints/5", 404],
        ] as const)
            expect((await get(gw, path)).status, path).toBe(status)
        expect((await get(gw, "/v1/log/key")).text.trim()).toBe(LOG.verifierKey)
        expect((await get(gw, "/v1/log")).body.checkpoint.size).toBe(0)
    })
})
