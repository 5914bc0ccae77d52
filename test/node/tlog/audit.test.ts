/**
 * The auditor (tools/lib/tlog/audit.ts) against the gateway in process: it passes an honest
 * log run after run, and fails with the right code and a message naming the block when the
 * database is altered underneath: a deleted block, a cut tail, a rewritten block, a log
 * rolled back, rewritten, or shown two ways (split view, also by comparing two states).
 */
import { afterEach, describe, expect, it } from "vitest"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { AuditFailure, AuditState, compareStates, runAudit } from "../../../tools/lib/tlog/audit"
import { parseVerifierKey } from "../../../tools/lib/tlog/note"
import { newChainHead } from "../../../src/lib/ledger/chain"
import { Ledger } from "../../../src/lib/ledger/ledger"
import { buildChain, CHANNELS, DEVICE_ID, OTHER_DEVICE_ID, testKey } from "../helpers/chains"
import { ADMIN_TOKEN, batch, ID, post, registerTestDevice, removeDir } from "../gateway/helpers"
import { appSource, LOG, LogGateway, openLogGateway } from "./helpers"

const verifier = parseVerifierKey(LOG.verifierKey)
const OTHER = OTHER_DEVICE_ID.toString("hex")
const open: LogGateway[] = []
afterEach(async () => {
    for (const g of open.splice(0)) {
        await g.close()
        removeDir(g.dir)
    }
})

/** A gateway with the two test devices holding `n` and 3 blocks, signed. */
async function loggedGateway(n = 12, dataBlocks = 14): Promise<LogGateway> {
    const gw = await openLogGateway()
    open.push(gw)
    await registerTestDevice(gw)
    await registerTestDevice(gw, testKey(0x22), OTHER)
    const chain = buildChain(nodeCrypto, { dataBlocks }).blocks
    await post(gw, batch(chain.slice(0, n)))
    await post(
        gw,
        batch(buildChain(nodeCrypto, { deviceId: OTHER_DEVICE_ID, key: testKey(0x22), dataBlocks: 2 }).blocks),
        "/v1/devices/" + OTHER + "/blocks"
    )
    await gw.sign()
    return gw
}

function audit(gw: LogGateway, state?: AuditState, withKeys = false) {
    return runAudit({
        source: appSource(gw),
        verifier,
        verifierKey: LOG.verifierKey,
        crypto: nodeCrypto,
        state,
        key0: withKeys ? id => (id === ID ? testKey() : id === OTHER ? testKey(0x22) : undefined) : undefined,
    })
}

async function failure(p: Promise<unknown>): Promise<AuditFailure> {
    try {
        await p
    } catch (e) {
        if (e instanceof AuditFailure) return e
        throw e
    }
    throw new Error("the audit passed")
}

describe("fieldledger audit, in process", () => {
    it("passes an honest log run after run, with and without K_0, and follows new blocks", async () => {
        const gw = await loggedGateway(12)
        const first = await audit(gw, undefined, true)
        expect(first.report.newLeaves).toBe(16)
        expect(first.report.devices.map(d => [d.deviceId, d.loggedUpTo, d.authenticated])).toEqual(
            [
                [OTHER, 3, true],
                [ID, 11, true],
            ].sort()
        )
        const chain = buildChain(nodeCrypto, { dataBlocks: 14 }).blocks
        await post(gw, batch(chain.slice(12)))
        // Blocks the log has not signed yet are not looked at.
        const same = await audit(gw, first.state)
        expect(same.report.newLeaves).toBe(0)
        await gw.sign()
        const second = await audit(gw, same.state)
        expect([second.report.previousSize, second.report.newLeaves]).toEqual([16, chain.length - 12])
        expect(second.state.devices[ID].seq).toBe(chain.length - 1)
    })

    it("a deleted block: the export lacks a seq the log lists", async () => {
        const gw = await loggedGateway()
        gw.store.db.prepare("DELETE FROM blocks WHERE device_id = ? AND seq = 5").run(ID)
        const e = await failure(audit(gw))
        expect(e.code).toBe("deleted-block")
        expect(e.message).toMatch(/device 12abdd2289421234 lacks blocks before seq 6 .*leaf 5 logs seq 5/)
    })

    it("a block deleted after an earlier audit trusted it (no new leaf of that device since)", async () => {
        const gw = await loggedGateway()
        const { state } = await audit(gw)
        gw.store.db.prepare("DELETE FROM blocks WHERE device_id = ? AND seq = 3").run(OTHER)
        gw.store.db.prepare("UPDATE devices SET head_seq = 2 WHERE id = ?").run(OTHER)
        const e = await failure(audit(gw, state))
        expect(e.code).toBe("truncated-tail")
        expect(e.message).toMatch(/leaf 15 logs device 0badc0ffee000001 seq 3, but the gateway's export ends at seq 2/)
        gw.store.db.prepare("DELETE FROM blocks WHERE device_id = ? AND seq = 1").run(OTHER)
        const d = await failure(audit(gw, state))
        expect(d.code).toBe("deleted-block")
        expect(d.message).toMatch(/device 0badc0ffee000001 lacks blocks before seq 2/)
    })

    it("a cut tail: the device's newest logged blocks are gone from the store", async () => {
        const gw = await loggedGateway()
        gw.store.db.prepare("DELETE FROM blocks WHERE device_id = ? AND seq >= 9").run(ID)
        gw.store.db.prepare("UPDATE devices SET head_seq = 8 WHERE id = ?").run(ID)
        const e = await failure(audit(gw))
        expect(e.code).toBe("truncated-tail")
        expect(e.message).toMatch(/leaf 9 logs device 12abdd2289421234 seq 9, but the gateway's export ends at seq 8/)
    })

    it("a rewritten block: with K_0 its tag fails; without, its hash differs from the logged one", async () => {
        const gw = await loggedGateway()
        const bytes = gw.store.db.prepare("SELECT bytes FROM blocks WHERE device_id = ? AND seq = 4").pluck().get(ID) as Buffer
        const altered = Buffer.from(bytes)
        altered[altered.length - 1] ^= 1
        gw.store.db.prepare("UPDATE blocks SET bytes = ? WHERE device_id = ? AND seq = 4").run(altered, ID)
        const noKey = await failure(audit(gw))
        expect(noKey.code).toBe("rewritten-block")
        expect(noKey.message).toMatch(/leaf 4 logs device 12abdd2289421234 seq 4 with hash [0-9a-f]{16}, the gateway's export has hash/)
        const withKey = await failure(audit(gw, undefined, true))
        expect(withKey.code).toBe("rewritten-block")
        expect(withKey.message).toMatch(/fails at seq 4: tag does not verify/)
    })

    it("a log rolled back, rewritten, or shown two ways to two auditors", async () => {
        // Two gateways with the same log key: what one database and a doctored copy would serve.
        const honest = await loggedGateway(12)
        const forked = await loggedGateway(6)
        const small = await audit(forked)
        const big = await audit(honest)
        expect((await failure(audit(forked, big.state))).code).toBe("rolled-back")
        // The honest log's size 16 is the fork's 10 plus 6 more, but its first leaves differ.
        const e = await failure(audit(honest, small.state))
        expect(e.code).toBe("rewritten-log")
        expect(e.message).toMatch(/the checkpoint of size 16 does not extend the trusted checkpoint of size 10/)
        expect(e.evidence.length).toBe(2)
        // Split view at one size: the fork grows to 16 leaves too.
        const chain = buildChain(nodeCrypto, { dataBlocks: 14 }).blocks
        await post(forked, batch(chain.slice(6, 12)))
        await forked.sign()
        const forkedBig = await audit(forked, small.state)
        expect(forkedBig.state.checkpoint.size).toBe(big.state.checkpoint.size)
        const split = await failure(audit(honest, forkedBig.state))
        expect(split.code).toBe("split-view")
        expect(split.message).toMatch(/two checkpoints of tree size 16 with different roots/)
        expect(() => compareStates(big.state, forkedBig.state)).toThrow(/two checkpoints of tree size 16 with different roots/)
        expect(compareStates(big.state, big.state).sameSize).toBe(true)
    })

    it("follows a key succession: the new chain's leaves (chain 1) are checked against the new export", async () => {
        const gw = await loggedGateway(12)
        const { state } = await audit(gw, undefined, true)
        const old = buildChain(nodeCrypto, { dataBlocks: 14 }).blocks
        const newKey = testKey(0x77)
        const ledger = new Ledger(nodeCrypto, DEVICE_ID, CHANNELS, newChainHead(Buffer.from(newKey), old[11].hash), {
            intervalMs: 1000,
            maxReadingsPerBlock: 8,
        })
        const successor = [ledger.sealGenesis({ boot: 5, uptimeMs: 0 }, "test/2", "sim")]
        for (let i = 0; i < 16; i++) successor.push(...ledger.append([2000 + i, 4000], { boot: 5, uptimeMs: 1000 + i * 1000 }))
        const r = await gw.app.request("/v1/devices/" + ID + "/succession", {
            method: "POST",
            body: JSON.stringify({ key0: newKey.toString("hex"), genesis: successor[0].bytes.toString("hex") }),
            headers: { "content-type": "application/json", authorization: "Bearer " + ADMIN_TOKEN },
        })
        expect(r.status).toBe(201)
        const ack = await post(gw, batch(successor))
        expect(ack.body).toMatchObject({ ack: successor.length - 1, logIndex: 16 + successor.length - 1 })
        await gw.sign()
        const after = await audit(gw, state)
        expect(after.report.devices.find(d => d.deviceId === ID)).toMatchObject({
            chain: 1,
            loggedUpTo: successor.length - 1,
            newLeaves: successor.length,
        })
        expect(after.state.devices[ID]).toMatchObject({ chain: 1, seq: successor.length - 1 })
        // The proof route finds a block of either chain.
        const proof = await gw.app.request("/v1/log/proof/inclusion?device=" + ID + "&seq=3&chain=0")
        expect((await proof.json()).index).toBe(3)
        expect((await (await gw.app.request("/v1/log/proof/inclusion?device=" + ID + "&seq=2")).json()).index).toBe(18)
    })

    it("a checkpoint not signed by the log key, or entries that do not hash to the signed root", async () => {
        const gw = await loggedGateway()
        const source = appSource(gw)
        const forged = { ...source, checkpoint: async () => (await source.checkpoint()).replace("\n16\n", "\n17\n") }
        const e = await failure(runAudit({ source: forged, verifier, verifierKey: LOG.verifierKey, crypto: nodeCrypto }))
        expect(e.code).toBe("bad-signature")
        gw.store.db.prepare("UPDATE log_leaves SET seq = seq + 100 WHERE idx = 3").run()
        const r = await failure(audit(gw))
        expect(r.code).toBe("rewritten-log")
        expect(r.message).toMatch(/the entries the gateway serves do not hash to the root its checkpoint of size 16 signs/)
    })
})
