/**
 * Signed checkpoints at the gateway: pk_0 registered with the device, every signed checkpoint
 * checked on ingest (a bad one refuses the batch as a security event, nothing stored), the
 * device view's "signed up to" and fingerprint, and the export's public keys, which verify the
 * exported chain with no K_0.
 */
import Database from "better-sqlite3"
import { join } from "node:path"
import { describe, expect, test } from "vitest"
import { RECORD_CHECKPOINT } from "../../../src/lib/codec/format"
import { decodeBlock, encodeContent } from "../../../src/lib/ledger/chain"
import { verifyChain } from "../../../src/lib/ledger/verify"
import { migrateDatabase, MIGRATIONS, SIGNING_KEYS_TABLE, SqliteStore } from "../../../tools/gateway/store"
import { succeed } from "../../../tools/gateway/succession"
import { parseExport } from "../../../tools/lib/exportfile"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { publicKeyFingerprint, publicKeyOf, verifyEd25519 } from "../../../tools/lib/ed25519"
import { DEVICE_ID, testKey } from "../helpers/chains"
import { alteredDataContent, buildSignedChain, droppedCheckpointChain, resealWithKey0, TEST_SEED0 } from "../helpers/signedchains"
import { ADMIN_TOKEN, batch, gatewayPerTest, get, ID, post, snapshot } from "./helpers"

const chain = buildSignedChain(nodeCrypto, { dataBlocks: 8, signEvery: 3 })
const bytes = chain.blocks.map(b => b.bytes)
const PUB = chain.publicKey0.toString("hex")

describe("the signing key at registration", () => {
    const gw = gatewayPerTest({ register: false })

    async function register(body: Record<string, unknown>) {
        const res = await gw.app.request("/v1/devices", {
            method: "POST",
            headers: { authorization: "Bearer " + ADMIN_TOKEN, "content-type": "application/json" },
            body: JSON.stringify(body),
        })
        return { status: res.status, body: await res.json() }
    }

    test("POST /v1/devices takes publicKey and the device view shows its fingerprint", async () => {
        const r = await register({ deviceId: ID, key0: testKey().toString("hex"), publicKey: PUB })
        expect(r.status).toBe(201)
        expect(r.body.signing).toEqual({
            fingerprint: publicKeyFingerprint(chain.publicKey0),
            publicKey0: PUB,
            signedTo: null,
            keyIndex: 0,
            currentKeyFingerprint: publicKeyFingerprint(chain.publicKey0),
            broken: null,
        })
    })

    test.each([
        ["short", "ab".repeat(31)],
        ["not hex", "zz".repeat(32)],
        ["a number", 7],
    ])("a publicKey that is %s is refused (400) and nothing is registered", async (_, publicKey) => {
        const r = await register({ deviceId: ID, key0: testKey().toString("hex"), publicKey })
        expect(r.status).toBe(400)
        expect(r.body.message).toContain("publicKey")
        expect(await gw.store.device(ID)).toBeUndefined()
    })

    test("a device registered without a key has signing null, and its checkpoints are stored unchecked", async () => {
        expect((await register({ deviceId: ID, key0: testKey().toString("hex") })).body.signing).toBeNull()
        expect((await post(gw, batch(bytes))).status).toBe(200)
        expect((await get(gw, "/v1/devices/" + ID)).body.signing).toBeNull()
    })
})

describe("signed checkpoints on ingest", () => {
    const gw = gatewayPerTest({ register: false })
    const registerWithKey = () => gw.service.register({ deviceId: ID, key0: chain.key0.toString("hex"), publicKey: PUB })

    test("a genuine chain: stored, signed up to the last checkpoint; the state survives a restart of the session", async () => {
        await registerWithKey()
        expect((await post(gw, batch(bytes.slice(0, 6)))).status).toBe(200)
        expect((await get(gw, "/v1/devices/" + ID)).body.signing).toMatchObject({ signedTo: 4, keyIndex: 1 })
        gw.service.forgetSession(ID) // as after a gateway restart: the state comes from the store
        expect((await post(gw, batch(bytes.slice(6)))).status).toBe(200)
        const view = (await get(gw, "/v1/devices/" + ID)).body
        expect(view.signing).toMatchObject({ signedTo: 8, keyIndex: 2, broken: null })
        expect(view.head.seq).toBe(10)
    })

    test.each([
        ["a forged block before a checkpoint, re-sealed under K_0", 2, "bad-signature", 4],
        ["a forged block between checkpoints, re-sealed under K_0", 6, "bad-signature", 8],
    ])("%s: the batch is refused (422), a security event, nothing stored", async (_, at, code, seq) => {
        await registerWithKey()
        const forged = resealWithKey0(nodeCrypto, bytes, at, alteredDataContent(nodeCrypto, bytes, at), chain.key0)
        const before = snapshot(gw)
        const r = await post(gw, batch(forged))
        expect(r.status).toBe(422)
        expect(r.body).toMatchObject({ error: code, seq, stored: 0 })
        expect(snapshot(gw)).toEqual(before)
        const events = (await get(gw, "/v1/devices/" + ID + "/events")).body.events
        expect(events.map((e: { kind: string; seq: number }) => [e.kind, e.seq])).toEqual([["bad-signature", seq]])
        // The genuine chain still goes in afterwards.
        expect((await post(gw, batch(bytes))).status).toBe(200)
    })

    test("a checkpoint with a wrong key index is refused as bad-key-index", async () => {
        await registerWithKey()
        const cp = decodeBlock(bytes[4])
        expect(cp.checkpoint.keyIndex).toBe(0)
        // The chain's checkpoint 0 put again at seq 8 (at checkpoint 1's time) by whoever holds K_0: a replay.
        const head = { seq: 8, link: chain.blocks[7].hash, key: testKey() }
        const time = decodeBlock(bytes[8]).header.time
        const content = encodeContent(head, { type: RECORD_CHECKPOINT, time, intervalMs: 1000, checkpoint: cp.checkpoint })
        const forged = resealWithKey0(nodeCrypto, bytes, 8, content, chain.key0)
        expect((await post(gw, batch(bytes.slice(0, 8)))).status).toBe(200)
        const r = await post(gw, batch(forged.slice(8)))
        expect(r.status).toBe(422)
        expect(r.body.error).toBe("bad-key-index")
        expect((await get(gw, "/v1/devices/" + ID)).body.signing.signedTo).toBe(4)
    })

    test("a device registered under another public key: its first checkpoint is a bad signature", async () => {
        await gw.service.register({
            deviceId: ID,
            key0: chain.key0.toString("hex"),
            publicKey: publicKeyOf(Buffer.alloc(32, 9)).toString("hex"),
        })
        expect((await post(gw, batch(bytes))).body.error).toBe("bad-signature")
    })
})

describe("a signed checkpoint dropped on the device", () => {
    const gw = gatewayPerTest({ register: false })

    test("the batch is stored (its tags hold), the key chain is marked broken, and that survives the session", async () => {
        const d = droppedCheckpointChain(nodeCrypto)
        await gw.service.register({ deviceId: ID, key0: d.key0.toString("hex"), publicKey: publicKeyOf(TEST_SEED0).toString("hex") })
        expect((await post(gw, batch(d.exported.slice(0, 4)))).status).toBe(200)
        gw.service.forgetSession(ID)
        expect((await post(gw, batch(d.exported.slice(4)))).status).toBe(200)
        const signing = (await get(gw, "/v1/devices/" + ID)).body.signing
        expect(signing).toMatchObject({ signedTo: 2, keyIndex: 3, currentKeyFingerprint: null })
        expect(signing.broken).toMatch(/signed checkpoint 1 was among blocks dropped/)
        expect((await get(gw, "/v1/devices/" + ID + "/events")).body.events).toEqual([])
    })
})

describe("the export carries the public keys", () => {
    const gw = gatewayPerTest({ register: false })

    test("pk_0 then each certified key; the export verifies with them and no K_0", async () => {
        await gw.service.register({ deviceId: ID, key0: chain.key0.toString("hex"), publicKey: PUB })
        expect((await post(gw, batch(bytes))).status).toBe(200)
        const exported = parseExport((await get(gw, "/v1/devices/" + ID + "/export")).text)
        expect(exported.publicKeys.map(k => k.toString("hex"))).toEqual([
            PUB,
            decodeBlock(bytes[4]).checkpoint.nextPublicKey.toString("hex"),
            decodeBlock(bytes[8]).checkpoint.nextPublicKey.toString("hex"),
        ])
        const report = verifyChain(nodeCrypto, exported.blocks, {
            deviceId: DEVICE_ID,
            publicKey0: exported.publicKeys[0],
            verifySignature: verifyEd25519,
        })
        expect(report.ok).toBe(true)
        expect(report.summary.signed).toMatchObject({ verifiedTo: 8, unsignedFrom: 9, unsignedTo: 10 })
    })

    test("a device without a signing key exports no publicKeys", async () => {
        await gw.service.register({ deviceId: ID, key0: chain.key0.toString("hex") })
        expect((await post(gw, batch(bytes))).status).toBe(200)
        expect(parseExport((await get(gw, "/v1/devices/" + ID + "/export")).text).publicKeys).toBeUndefined()
    })
})

describe("key succession replaces the signing key", () => {
    const gw = gatewayPerTest({ register: false })

    test("the new chain's pk_0 replaces the old one, and its state starts afresh", async () => {
        await gw.service.register({ deviceId: ID, key0: chain.key0.toString("hex"), publicKey: PUB })
        expect((await post(gw, batch(bytes))).status).toBe(200)
        const key0 = testKey(0x22)
        const next = buildSignedChain(nodeCrypto, { key0, seed0: Buffer.alloc(32, 0x33) })
        // A successor genesis links to the old head; buildSignedChain starts from zeros, which the gateway records as a gap.
        await succeed(gw.service, ID, {
            key0: key0.toString("hex"),
            genesis: next.blocks[0].bytes.toString("hex"),
            publicKey: next.publicKey0.toString("hex"),
        })
        const view = (await get(gw, "/v1/devices/" + ID)).body
        expect(view.signing).toMatchObject({ publicKey0: next.publicKey0.toString("hex"), signedTo: null, keyIndex: 0 })
        expect((await post(gw, batch(next.blocks))).status).toBe(200)
        expect((await get(gw, "/v1/devices/" + ID)).body.signing.signedTo).toBe(next.checkpointSeqs[next.checkpointSeqs.length - 1])
    })
})

describe("migration", () => {
    const gw = gatewayPerTest({ register: false })

    test("a database from before signing keys gets the table; its devices have none, and a key registered later is kept", async () => {
        const path = join(gw.dir, "old.db")
        const db = new Database(path)
        migrateDatabase(db, MIGRATIONS.indexOf(SIGNING_KEYS_TABLE))
        db.prepare("INSERT INTO devices (id, label, key0_sealed, registered_at) VALUES (?, 'old', x'00', 0)").run(ID)
        db.close()
        const store = new SqliteStore(path)
        try {
            expect(store.db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length)
            expect(await store.signing(ID)).toBeUndefined()
            await store.setSigningKey(ID, chain.publicKey0, 1)
            expect(await store.signing(ID)).toEqual({
                publicKey0: chain.publicKey0,
                registeredAt: 1,
                state: { keyIndex: 0, publicKey: chain.publicKey0, signedSeq: -1, dropped: false },
            })
        } finally {
            await store.close()
        }
    })
})
