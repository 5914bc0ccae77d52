/**
 * The flash as every layer sees it (a small key-value store: the DeviceScript Settings service
 * on the device, the devtools bus from the host tools, a Map in tests), its one error class,
 * and the one way to write a value that matters: `writeVerified`.
 *
 * Why every write is read back, and how a failure is told apart (docs/STORAGE.md): the
 * settings store (jd_fstor.c) appends each write to a log; when a write does not fit even after
 * garbage collection it is dropped and the `set` resolves all the same. The entry that was
 * there before stays: a dropped write reads back as the value the key held before it (nothing,
 * if it held nothing). So `writeVerified` reads the key once before writing, and after the
 * write:
 *
 * - the value written: kept;
 * - the value from before (or nothing, if there was nothing): the write was dropped, **full**;
 * - anything else: the store holds bytes nobody wrote, **corrupt**.
 *
 * **io** is for the store itself to throw when it gets no answer (src/device/settingsstore.ts:
 * the settings service did not answer a get); whatever a store throws passes through here
 * unchanged.
 *
 * One retry, and only one: commit 98b1897 saw the simulator's first write of a program run
 * (the USB bridge request) read back as absent and wrote it up to three times; the chain
 * store never retried and provisioning never did. The cause was not found (a report answering
 * an earlier get of the same key, which a host on the bus polls, fits what was seen). A second
 * write costs one log entry only when the first was not seen, and a full store drops it too, so
 * every writer now gets that retry and the same verdict. The classification uses the last
 * read-back.
 *
 * Buffers read here are wiped: the head's value holds an epoch key that must not linger in RAM.
 */
import { constantTimeEqual, wipe } from "../codec/bytes"

/** What the chain store and the tools need of flash: get, set and delete of small binary values. */
export interface KeyValueStore {
    /** The value, or undefined when the key is absent (or empty). */
    get(key: string): Promise<Buffer | undefined>
    set(key: string, value: Buffer): Promise<void>
    delete(key: string): Promise<void>
}

/**
 * What went wrong with flash, as littlefs tells LFS_ERR_NOSPC, LFS_ERR_CORRUPT and LFS_ERR_IO
 * apart. Only `full` is a reason to drop data to make room (src/lib/store/backlog.ts).
 */
export type StorageErrorKind = "full" | "corrupt" | "io"

/** Flash refused a write, holds something that is not ours, or did not answer. */
export class StorageError extends Error {
    constructor(
        readonly kind: StorageErrorKind,
        message: string
    ) {
        super(message)
        this.name = "StorageError"
    }
}

const TRIES = 2

function same(a: Buffer | undefined, b: Buffer | undefined): boolean {
    if (!a || !b) return !a && !b
    return constantTimeEqual(a, b)
}

/** Wipes a buffer this module read (never the caller's `value`, which a store in a test may hand back). */
function forget(buf: Buffer | undefined, value?: Buffer) {
    if (buf && buf !== value) wipe(buf)
}

/** The verdict on a value that did not read back as written (see the rule above). */
function failure(key: string, before: Buffer | undefined, after: Buffer | undefined, wanted: string): StorageError {
    if (same(before, after)) return new StorageError("full", "flash did not keep " + key + " (" + wanted + " dropped: store full)")
    return new StorageError(
        "corrupt",
        "flash holds " + (after ? after.length + " bytes" : "nothing") + " under " + key + " that nobody wrote (" + wanted + ")"
    )
}

/**
 * Writes `value` under `key` and proves flash kept it (the rule above); throws StorageError
 * `full`, `corrupt` or `io` otherwise. `value` is not modified.
 */
export async function writeVerified(kv: KeyValueStore, key: string, value: Buffer): Promise<void> {
    const before = await kv.get(key)
    let after: Buffer | undefined = undefined
    try {
        for (let attempt = 0; attempt < TRIES; attempt++) {
            forget(after, value)
            await kv.set(key, value)
            after = await kv.get(key)
            if (same(after, value)) return
        }
        throw failure(key, before, after, "write of " + value.length + " bytes")
    } finally {
        forget(before, value)
        forget(after, value)
    }
}

/** Deletes `key` and proves it is gone, with the same rule and retry as `writeVerified` (a delete is a log entry too). */
export async function deleteVerified(kv: KeyValueStore, key: string): Promise<void> {
    const before = await kv.get(key)
    let after: Buffer | undefined = undefined
    try {
        for (let attempt = 0; attempt < TRIES; attempt++) {
            forget(after)
            await kv.delete(key)
            after = await kv.get(key)
            if (!after) return
        }
        throw failure(key, before, after, "delete")
    } finally {
        forget(before)
        forget(after)
    }
}
