/**
 * The transparency log's public routes (docs/API.md, "Transparency log"). Public by design: the
 * log shows device ids, seqs and block hashes, never readings. `/v1/log` is a C2SP tlog-tiles
 * prefix: `/v1/log/checkpoint` and `/v1/log/tile/...` follow that spec, so its clients and
 * witnesses can read the log; the proof routes serve clients that do not do tiles. Every answer
 * is bounded (a proof is at most 2 x 63 hashes, a tile 8 KB, a bundle 256 entries).
 */
import type { Hono } from "hono"
import { HttpError } from "../errors"
import { isDeviceIdHex, DEVICE_ID_TEXT } from "../../../src/lib/codec/hexids"
import { HASH_BYTES } from "../../lib/tlog/merkle"
import { parseTilePath } from "../../lib/tlog/tiles"
import type { GatewayService } from "../service"
import type { ProofHashes } from "./logreader"

/** A whole number in a query (a leaf index or tree size: below 2^53). */
function count(value: string | undefined, name: string): number | undefined {
    if (value === undefined || value === "") return undefined
    if (!/^\d{1,15}$/.test(value)) throw new HttpError(400, "bad-request", name + " must be a whole number")
    return Number(value)
}

const IMMUTABLE = "public, max-age=31536000, immutable"

export function registerLogRoutes(app: Hono, service: GatewayService) {
    const reader = service.logReader

    app.get("/v1/log/checkpoint", async c => {
        const cp = await reader.checkpoint()
        return c.body(cp.note, 200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" })
    })

    /** A checkpoint signed earlier, by its size (for auditors comparing what they were shown). */
    app.get("/v1/log/checkpoints/:size", async c => {
        const size = count(c.req.param("size"), "size")
        const cp = await reader.checkpointAt(size)
        return c.body(cp.note, 200, { "content-type": "text/plain; charset=utf-8", "cache-control": IMMUTABLE })
    })

    /** The log's identity and latest checkpoint as JSON (the dashboard). */
    app.get("/v1/log", async c => {
        const cp = await service.logReader.checkpoint().catch((): undefined => undefined)
        return c.json({
            origin: service.logIdentity?.origin ?? null,
            verifierKey: service.logIdentity?.verifierKey ?? null,
            checkpoint: cp ? { size: cp.size, root: cp.root.toString("base64"), time: new Date(cp.time * 1000).toISOString() } : null,
        })
    })

    app.get("/v1/log/key", c => {
        if (!service.logIdentity) throw new HttpError(404, "no-log-key", "this gateway signs no checkpoints (no log key)")
        return c.body(service.logIdentity.verifierKey + "\n", 200, { "content-type": "text/plain; charset=utf-8" })
    })

    app.get("/v1/log/tile/*", async c => {
        const rest = c.req.path.slice("/v1/log/tile/".length)
        const t = parseTilePath(rest)
        if (!t) throw new HttpError(404, "not-found", "not a tile path (tile/L/N[.p/W], tile/entries/N[.p/W])")
        const body = t.level === "entries" ? await reader.entries(t.index, t.width) : await reader.tile(t.level, t.index, t.width)
        return c.body(new Uint8Array(body), 200, { "content-type": "application/octet-stream", "cache-control": IMMUTABLE })
    })

    /** ?index=I or ?device=ID&seq=S[&chain=C]; &size=N (default: the latest checkpoint's). */
    app.get("/v1/log/proof/inclusion", async c => {
        const q = c.req.query()
        let index = count(q.index, "index")
        if (index === undefined) {
            if (!isDeviceIdHex(q.device))
                throw new HttpError(400, "bad-request", "give index=, or device= (" + DEVICE_ID_TEXT + ") and seq=")
            const seq = count(q.seq, "seq")
            if (seq === undefined) throw new HttpError(400, "bad-request", "seq= is missing")
            const chain = count(q.chain, "chain") ?? (await reader.currentChain(q.device))
            index = await reader.leafOf(q.device, chain, seq)
        }
        if (q.format === "binary") return binary(await reader.inclusionProof(index, count(q.size, "size")))
        return c.json(await reader.inclusion(index, count(q.size, "size")))
    })

    /** ?from=M[&to=N] (default: the latest checkpoint's size). */
    app.get("/v1/log/proof/consistency", async c => {
        const from = count(c.req.query("from"), "from")
        if (from === undefined) throw new HttpError(400, "bad-request", "from= is missing")
        if (c.req.query("format") === "binary") return binary(await reader.consistencyProof(from, count(c.req.query("to"), "to")))
        return c.json(await reader.consistency(from, count(c.req.query("to"), "to")))
    })
}

/**
 * ?format=binary (docs/API.md): u64 BE || u64 BE || the proof's hashes, 32 bytes each, written
 * into one buffer (no base64 on the way): the answer a client polling proofs asks for.
 */
function binary({ a, b, proof }: ProofHashes): Response {
    const out = Buffer.allocUnsafe(16 + proof.length * HASH_BYTES)
    out.writeBigUInt64BE(BigInt(a), 0)
    out.writeBigUInt64BE(BigInt(b), 8)
    for (let i = 0; i < proof.length; i++) out.set(proof[i], 16 + i * HASH_BYTES)
    return new Response(out, { status: 200, headers: BINARY_HEADERS })
}

const BINARY_HEADERS = { "content-type": "application/octet-stream" }
