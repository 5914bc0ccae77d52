/**
 * A model of the DeviceScript settings store (jacdac-c source/jd_fstor.c, 2.16.4) for the
 * endurance benchmark: two halves of `halfBytes` usable bytes (8144 on RP2040 and the
 * simulator, 16336 on ESP32), an append-only log where each write costs 24 bytes plus the
 * value rounded up to 8 (a delete counts as an 8-byte value), identical rewrites skipped, and
 * a garbage collection, when a write does not fit, that erases the other half and copies the
 * newest entry of every key ever written (delete markers included). A write that still does
 * not fit is dropped without an error, as on the device.
 */
import type { KeyValueStore } from "../../src/lib/flash/verified"

const ENTRY_HEADER = 24
/** The deployed program's header entry, which lives in the same half. */
const PROGRAM_ENTRY = 24

function cost(value: Buffer | undefined): number {
    const n = value ? value.length : 0
    return ENTRY_HEADER + Math.max(8, Math.ceil(n / 8) * 8)
}

export class FstorModel implements KeyValueStore {
    private readonly newest = new Map<string, Buffer | undefined>()
    private used = PROGRAM_ENTRY
    writes = 0
    collections = 0
    dropped = 0

    constructor(readonly halfBytes: number) {}

    private liveBytes(): number {
        let n = PROGRAM_ENTRY
        for (const v of this.newest.values()) n += cost(v)
        return n
    }

    private append(key: string, value: Buffer | undefined) {
        const old = this.newest.get(key)
        if (this.newest.has(key) && (old?.length ?? 0) === (value?.length ?? 0) && (!old || !value || old.equals(value))) return
        const c = cost(value)
        if (this.used + c > this.halfBytes) {
            this.collections++
            this.used = this.liveBytes()
            if (this.used + c > this.halfBytes) {
                this.dropped++
                return
            }
        }
        this.used += c
        this.writes++
        this.newest.set(key, value ? Buffer.from(value) : undefined)
    }

    async get(key: string): Promise<Buffer | undefined> {
        const v = this.newest.get(key)
        return v && v.length > 0 ? Buffer.from(v) : undefined
    }

    async set(key: string, value: Buffer): Promise<void> {
        this.append(key, value)
    }

    async delete(key: string): Promise<void> {
        this.append(key, undefined)
    }
}
