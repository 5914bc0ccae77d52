/**
 * The auditor's checks (`fieldledger audit`, docs/SECURITY.md "What an auditor learns"): from
 * the last checkpoint it trusted (its state) to the gateway's latest, it checks
 *   - the new checkpoint's signature under the log key, and that it extends the trusted one
 *     (the consistency proof, and the roots again from the entries themselves);
 *   - that no other checkpoint of the trusted size, with another root, is served;
 *   - every new entry: well-formed, each device chain's seqs strictly growing;
 *   - each device's export: it verifies (links; tags too when K_0 is given), holds every logged
 *     block with the logged hash, and still holds the newest block logged in earlier runs.
 * It fails with the first violation found, named precisely; the state moves only on success.
 */
import { toHex } from "../../../src/lib/codec/bytes"
import { LedgerCrypto } from "../../../src/lib/ledger/keys"
import { ChainVerifier, initialVerifierState, MemoryHistory } from "../../../src/lib/ledger/verify"
import { ExportFileError, parseExport } from "../exportfile"
import { openCheckpoint, SignedCheckpoint } from "./checkpoint"
import { CompactRange } from "./compact"
import { decodeBundle, decodeLeaf, LeafEntry } from "./leaf"
import { checkConsistency, leafHash, ProofError } from "./merkle"
import { NoteError, NoteVerifier } from "./note"
import { TILE_WIDTH, tileWidth } from "./tiles"

export const STATE_FORMAT = "fieldledger-audit-state"
export const STATE_VERSION = 1

/** What the gateway serves, as the auditor reads it (over HTTP in tools/audit.ts). */
export interface AuditSource {
    checkpoint(): Promise<string>
    /** A checkpoint signed earlier, by size; undefined when the gateway has none of that size. */
    checkpointAt(size: number): Promise<string | undefined>
    consistency(from: number, to: number): Promise<Buffer[]>
    /** tile/entries/N (width 256) or its partial form. */
    bundle(index: number, width: number): Promise<Buffer>
    /** The device's export file text; undefined when the gateway does not know the device. */
    exportOf(deviceId: string): Promise<string | undefined>
}

/** The newest logged block of a device's newest chain, as checked. */
export interface DeviceMark {
    chain: number
    seq: number
    /** hex */
    hash: string
    index: number
}

export interface AuditState {
    format: typeof STATE_FORMAT
    version: typeof STATE_VERSION
    verifierKey: string
    checkpoint: { size: number; root: string; time: number; note: string }
    /** The trusted tree as its compact range (compact.ts): new entries are checked against it. */
    range: { size: number; hashes: string[] }
    devices: Record<string, DeviceMark>
}

export type FailureCode =
    | "bad-signature"
    | "rolled-back"
    | "split-view"
    | "rewritten-log"
    | "bad-entry"
    | "seq-order"
    | "deleted-block"
    | "truncated-tail"
    | "rewritten-block"
    | "bad-export"

export class AuditFailure extends Error {
    constructor(
        readonly code: FailureCode,
        message: string,
        /** Signed notes that prove it (two checkpoints of one size, ...). */
        readonly evidence: string[] = []
    ) {
        super(message)
        this.name = "AuditFailure"
    }
}

export interface AuditOptions {
    source: AuditSource
    verifier: NoteVerifier
    verifierKey: string
    crypto: LedgerCrypto
    /** undefined: first run, trust on first use of the checkpoint served now. */
    state?: AuditState
    /** K_0 of a device, when the auditor has it: its blocks' tags are checked too. */
    key0?: (deviceId: string) => Buffer | undefined
    /** Skip the exports (log consistency only; the benchmark's log catch-up). */
    skipExports?: boolean
    onProgress?: (done: number, total: number, what: string) => void
    /** Entry bundles in flight at once (fetched ahead of the one being hashed; default 8). */
    concurrency?: number
}

export interface DeviceReport {
    deviceId: string
    chain: number
    newLeaves: number
    loggedUpTo: number
    authenticated: boolean
}

export interface AuditReport {
    checkpoint: { size: number; root: string; time: string }
    previousSize: number
    newLeaves: number
    devices: DeviceReport[]
}

interface PendingLeaf {
    index: number
    seq: number
    hash: Buffer
}

function b64(b: Buffer) {
    return b.toString("base64")
}

/** Progress is reported about every this many leaves. */
const PROGRESS_LEAVES = 65536

/**
 * Yields f(item) for each item in order while up to `ahead` later calls are already under way:
 * the gateway serves the next bundles while the auditor hashes this one. A call that fails
 * fails the loop when its turn comes (and never as an unhandled rejection before that).
 */
async function* fetchAhead<T>(items: readonly number[], ahead: number, f: (item: number) => Promise<T>) {
    const queue: Promise<T>[] = []
    let next = 0
    const fill = () => {
        while (next < items.length && queue.length < Math.max(1, ahead)) {
            const p = f(items[next++])
            p.catch(() => {})
            queue.push(p)
        }
    }
    for (let i = 0; i < items.length; i++) {
        fill()
        const body = await queue.shift()
        yield { n: items[i], body }
    }
}

function openServed(note: string, verifier: NoteVerifier, what: string): SignedCheckpoint {
    try {
        return openCheckpoint(note, verifier)
    } catch (e) {
        if (e instanceof NoteError)
            throw new AuditFailure("bad-signature", what + " is not a checkpoint signed by the log key: " + e.message)
        throw e
    }
}

export async function runAudit(o: AuditOptions): Promise<{ state: AuditState; report: AuditReport }> {
    const progress = o.onProgress ?? (() => {})
    const cp = openServed(await o.source.checkpoint(), o.verifier, "the gateway's checkpoint")
    const old = o.state?.checkpoint
    const oldRoot = old ? Buffer.from(old.root, "base64") : undefined
    const range = o.state ? CompactRange.load(o.state.range) : new CompactRange()
    if (old) {
        if (cp.size < old.size)
            throw new AuditFailure(
                "rolled-back",
                "the gateway's checkpoint has tree size " + cp.size + ", smaller than the trusted " + old.size + ": the log went back",
                [old.note, cp.note]
            )
        if (cp.size === old.size && !cp.root.equals(oldRoot))
            throw new AuditFailure(
                "split-view",
                "two checkpoints of tree size " + cp.size + " with different roots, both signed by the log key",
                [old.note, cp.note]
            )
        // The gateway's own record of the trusted size must be the one trusted.
        const then = await o.source.checkpointAt(old.size)
        if (then !== undefined) {
            const c = openServed(then, o.verifier, "the gateway's checkpoint of size " + old.size)
            if (!c.root.equals(oldRoot))
                throw new AuditFailure(
                    "split-view",
                    "two checkpoints of tree size " +
                        old.size +
                        " with different roots, both signed by the log key (the trusted one and the one the gateway keeps)",
                    [old.note, c.note]
                )
        }
        try {
            checkConsistency(old.size, cp.size, oldRoot, cp.root, await o.source.consistency(old.size, cp.size))
        } catch (e) {
            if (e instanceof ProofError)
                throw new AuditFailure(
                    "rewritten-log",
                    "the checkpoint of size " +
                        cp.size +
                        " does not extend the trusted checkpoint of size " +
                        old.size +
                        " (" +
                        e.message +
                        "): the log was rewritten",
                    [old.note, cp.note]
                )
            throw e
        }
    }

    // The new entries, bundle by bundle; each joins the compact range, which must end at the signed root.
    const from = range.size
    if (old && from !== old.size) throw new RangeError("the state's compact range does not match its checkpoint")
    const bundles: number[] = []
    for (let n = Math.floor(from / TILE_WIDTH); n * TILE_WIDTH < cp.size; n++) bundles.push(n)
    const pending = new Map<string, { deviceId: string; chain: number; leaves: PendingLeaf[] }>()
    // Copies: the state passed in is not changed.
    const marks: Record<string, DeviceMark> = {}
    for (const [id, m] of Object.entries(o.state?.devices ?? {})) marks[id] = { ...m }
    const markHashes = new Map<DeviceMark, Buffer>()
    const total = cp.size - from
    /** The new entries' bundles, read only once every entry in them hashes to the signed root. */
    const fresh: { body: Buffer; first: number }[] = []
    let lastProgress = 0
    for await (const { n, body } of fetchAhead(bundles, o.concurrency ?? 8, n => o.source.bundle(n, tileWidth(cp.size, 0, n)))) {
        const width = tileWidth(cp.size, 0, n)
        let entries: Buffer[]
        try {
            entries = decodeBundle(body)
        } catch (e) {
            throw new AuditFailure("bad-entry", "entry bundle " + n + ": " + (e as Error).message)
        }
        if (entries.length !== width)
            throw new AuditFailure(
                "bad-entry",
                "entry bundle " + n + " holds " + entries.length + " entries, the checkpoint needs " + width
            )
        const skip = Math.max(0, from - n * TILE_WIDTH)
        for (let i = skip; i < entries.length; i++) range.append(leafHash(entries[i]))
        fresh.push({ body, first: n * TILE_WIDTH + skip })
        const done = Math.min(total, (n + 1) * TILE_WIDTH - from)
        if (done - lastProgress >= PROGRESS_LEAVES || done === total) progress((lastProgress = done), total, "leaves")
    }
    if (!range.root().equals(cp.root))
        throw new AuditFailure(
            "rewritten-log",
            "the entries the gateway serves do not hash to the root its checkpoint of size " + cp.size + " signs: the log was rewritten",
            [cp.note]
        )
    for (const { body, first } of fresh) {
        const entries = decodeBundle(body)
        for (let i = first % TILE_WIDTH, index = first; i < entries.length; i++, index++) {
            let e: LeafEntry
            try {
                e = decodeLeaf(entries[i])
            } catch (err) {
                throw new AuditFailure("bad-entry", "leaf " + index + " is not a log entry: " + (err as Error).message)
            }
            noteLeaf(marks, markHashes, o.skipExports ? undefined : pending, e, index)
        }
    }
    for (const [m, h] of markHashes) m.hash = toHex(h)

    const devices: DeviceReport[] = []
    if (!o.skipExports) {
        const ids = Object.keys(marks).sort()
        let done = 0
        for (const id of ids) {
            devices.push(await checkExport(o, id, marks[id], pending.get(id), o.state?.devices[id]))
            progress(++done, ids.length, "devices")
        }
    }
    const state: AuditState = {
        format: STATE_FORMAT,
        version: STATE_VERSION,
        verifierKey: o.verifierKey,
        checkpoint: { size: cp.size, root: b64(cp.root), time: cp.time, note: cp.note },
        range: range.save(),
        devices: marks,
    }
    return {
        state,
        report: {
            checkpoint: { size: cp.size, root: b64(cp.root), time: new Date(cp.time * 1000).toISOString() },
            previousSize: from,
            newLeaves: cp.size - from,
            devices,
        },
    }
}

/** "leaf I logs WHO seq S": the leaf an export check holds against. */
function loggedAt(r: { index: number; seq: number }, who: string): string {
    return "leaf " + r.index + " logs " + who + " seq " + r.seq
}

/** Records a new leaf: its device chain's seqs must grow; a newer chain (a key succession) starts over. */
function noteLeaf(
    marks: Record<string, DeviceMark>,
    markHashes: Map<DeviceMark, Buffer>,
    pending: Map<string, { deviceId: string; chain: number; leaves: PendingLeaf[] }> | undefined,
    e: LeafEntry,
    index: number
) {
    const mark = marks[e.deviceId]
    if (mark) {
        if (e.chain < mark.chain)
            throw new AuditFailure(
                "seq-order",
                "leaf " +
                    index +
                    " logs device " +
                    e.deviceId +
                    " chain " +
                    e.chain +
                    " after leaf " +
                    mark.index +
                    " logged its chain " +
                    mark.chain
            )
        if (e.chain === mark.chain && e.seq <= mark.seq)
            throw new AuditFailure(
                "seq-order",
                "leaf " +
                    index +
                    " logs device " +
                    e.deviceId +
                    " seq " +
                    e.seq +
                    " after leaf " +
                    mark.index +
                    " logged seq " +
                    mark.seq +
                    ": a device's seqs only grow"
            )
    }
    // The hash as hex only when the state is written (markHashes): this runs for every leaf.
    if (mark) {
        mark.chain = e.chain
        mark.seq = e.seq
        mark.index = index
        markHashes.set(mark, e.hash)
    } else {
        const m = { chain: e.chain, seq: e.seq, hash: "", index }
        marks[e.deviceId] = m
        markHashes.set(m, e.hash)
    }
    if (!pending) return
    let p = pending.get(e.deviceId)
    if (!p || p.chain !== e.chain) pending.set(e.deviceId, (p = { deviceId: e.deviceId, chain: e.chain, leaves: [] }))
    p.leaves.push({ index, seq: e.seq, hash: e.hash })
}

/**
 * The device's export must verify and hold every block the log lists for its current chain:
 * the new leaves, and the newest block logged in an earlier run (which pins, through the hash
 * links, every block before it).
 */
async function checkExport(
    o: AuditOptions,
    deviceId: string,
    mark: DeviceMark,
    fresh: { chain: number; leaves: PendingLeaf[] } | undefined,
    before: DeviceMark | undefined
): Promise<DeviceReport> {
    const required: PendingLeaf[] = []
    if (before && before.chain === mark.chain)
        required.push({ index: before.index, seq: before.seq, hash: Buffer.from(before.hash, "hex") })
    if (fresh) required.push(...fresh.leaves)
    const first = required[0]
    const text = await o.source.exportOf(deviceId)
    const who = "device " + deviceId
    if (text === undefined)
        throw new AuditFailure(
            "deleted-block",
            "leaf " + first.index + " logs " + who + " seq " + first.seq + ", but the gateway no longer knows the device"
        )
    let blocks: Buffer[]
    try {
        const exp = parseExport(text)
        if (exp.deviceId.toString("hex") !== deviceId) throw new ExportFileError("it names device " + exp.deviceId.toString("hex"))
        blocks = exp.blocks
    } catch (e) {
        if (e instanceof ExportFileError)
            throw new AuditFailure("bad-export", "the gateway's export of " + who + " is not an export file: " + e.message)
        throw e
    }
    const key0 = o.key0?.(deviceId)
    const verifier = new ChainVerifier(o.crypto, Buffer.from(deviceId, "hex"), initialVerifierState(key0), new MemoryHistory())
    let p = 0
    let head = -1
    for (let i = 0; i < blocks.length && p < required.length; i++) {
        const check = verifier.next(blocks, i)
        if (!check.ok) {
            const seq = check.block?.header.seq
            const at = seq === undefined ? "block " + i : "seq " + seq
            if (check.code === "missing-blocks")
                throw new AuditFailure(
                    "deleted-block",
                    "the gateway's export of " + who + " lacks blocks before " + at + " (" + check.reason + ")" + logged(required, p, seq)
                )
            if (check.code === "tag" || check.code === "link")
                throw new AuditFailure(
                    "rewritten-block",
                    "the gateway's export of " + who + " fails at " + at + ": " + check.reason + logged(required, p, seq)
                )
            throw new AuditFailure(
                "bad-export",
                "the gateway's export of " + who + " fails at " + at + " (" + check.code + "): " + check.reason
            )
        }
        const seq = check.block.header.seq
        head = seq
        while (p < required.length && required[p].seq < seq) {
            const r = required[p]
            throw new AuditFailure(
                "deleted-block",
                loggedAt(r, who) + " (hash " + toHex(r.hash).slice(0, 16) + "), but the gateway's export has no block " + r.seq
            )
        }
        if (p < required.length && required[p].seq === seq) {
            const r = required[p]
            if (!r.hash.equals(check.hash))
                throw new AuditFailure(
                    "rewritten-block",
                    loggedAt(r, who) +
                        " with hash " +
                        toHex(r.hash).slice(0, 16) +
                        ", the gateway's export has hash " +
                        toHex(check.hash).slice(0, 16) +
                        ": the block, or one before it, was rewritten"
                )
            p++
        }
    }
    if (p < required.length) {
        const r = required[p]
        throw new AuditFailure(
            "truncated-tail",
            loggedAt(r, who) + ", but the gateway's export ends at " + (head < 0 ? "no block" : "seq " + head) + ": its tail was cut"
        )
    }
    return { deviceId, chain: mark.chain, newLeaves: fresh?.leaves.length ?? 0, loggedUpTo: mark.seq, authenticated: !!key0 }
}

function logged(required: PendingLeaf[], p: number, seq: number | undefined): string {
    const r = required[p]
    return r && (seq === undefined || r.seq <= seq) ? " (leaf " + r.index + " logs seq " + r.seq + ")" : ""
}

/** Compares two auditors' states: the same log, and no two roots for one size. */
export function compareStates(a: AuditState, b: AuditState): { sameSize: boolean; smaller: AuditState; larger: AuditState } {
    if (a.verifierKey !== b.verifierKey)
        throw new RangeError("the two states audit different logs (" + a.verifierKey + ", " + b.verifierKey + ")")
    if (a.checkpoint.size === b.checkpoint.size && a.checkpoint.root !== b.checkpoint.root)
        throw new AuditFailure(
            "split-view",
            "two checkpoints of tree size " +
                a.checkpoint.size +
                " with different roots, both signed by the log key: the gateway showed the two auditors different logs",
            [a.checkpoint.note, b.checkpoint.note]
        )
    const [smaller, larger] = a.checkpoint.size <= b.checkpoint.size ? [a, b] : [b, a]
    return { sameSize: a.checkpoint.size === b.checkpoint.size, smaller, larger }
}
