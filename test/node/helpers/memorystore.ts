/**
 * An in-memory KeyValueStore that behaves like the DeviceScript settings store where it
 * matters to the chain store: a capacity in bytes (each value costs 24 + its length rounded up
 * to 8, as the flash log does), writes that silently do nothing when it is full, and a power
 * cut after a chosen number of writes. It keeps every value ever written per key.
 */
import type { KeyValueStore } from "../../../src/lib/flash/verified"

export class PowerCut extends Error {}

export function entryCost(key: string, value: Buffer): number {
    return 24 + Math.ceil((key.length + 1 + value.length) / 8) * 8
}

export class MemoryStore implements KeyValueStore {
    readonly values = new Map<string, Buffer>()
    readonly history = new Map<string, Buffer[]>()
    writes = 0
    readonly deleted: string[] = []
    /** Mutations allowed before the power cut (Infinity: none). */
    cutAfter = Infinity

    constructor(readonly capacityBytes = Infinity) {}

    used(): number {
        let n = 0
        for (const [k, v] of this.values) n += entryCost(k, v)
        return n
    }

    private mutate() {
        if (this.writes >= this.cutAfter) throw new PowerCut("power cut after " + this.writes + " writes")
        this.writes++
    }

    async get(key: string): Promise<Buffer | undefined> {
        const v = this.values.get(key)
        return v ? Buffer.from(v) : undefined
    }

    async set(key: string, value: Buffer): Promise<void> {
        this.mutate()
        const old = this.values.get(key)
        const after = this.used() - (old ? entryCost(key, old) : 0) + entryCost(key, value)
        if (after > this.capacityBytes) return // a full flash drops the write without a word
        this.values.set(key, Buffer.from(value))
        const h = this.history.get(key) ?? []
        h.push(Buffer.from(value))
        this.history.set(key, h)
    }

    async delete(key: string): Promise<void> {
        this.mutate()
        this.values.delete(key)
        this.deleted.push(key)
    }
}
