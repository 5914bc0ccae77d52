/**
 * Drift-free periodic sampling: slot k is due at start + k * interval, whatever the time the
 * previous tick took, so readings stay on the grid the block header declares. A slot that is
 * missed entirely (the device was busy for longer than an interval) is reported as skipped,
 * so the caller can record it rather than shift every later reading.
 */
import * as ds from "@devicescript/core"
import { errorLine } from "../lib/log/lines"

export interface SamplerOptions {
    intervalMs: number
    /** Called once per slot; `skipped` is how many earlier slots passed without a call. */
    onSample(slotUptimeMs: number, skipped: number): Promise<void>
}

export function startSampler(options: SamplerOptions) {
    const interval = options.intervalMs
    let due = ds.millis()
    let timer = 0
    let running = true
    // A timer chain rather than a fiber loop: the runtime keeps a program alive while it
    // has timers, and each tick catches its own errors so one failure never stops sampling.
    const tick = async () => {
        if (!running) return
        const late = ds.millis() - due
        const skipped = late >= interval ? Math.floor(late / interval) : 0
        due += skipped * interval
        try {
            await options.onSample(due, skipped)
        } catch (e) {
            console.log(errorLine("sampler: " + e))
        }
        due += interval
        const wait = due - ds.millis()
        if (running) timer = setTimeout(tick, wait > 0 ? wait : 0)
    }
    timer = setTimeout(tick, 0)
    return {
        stop: () => {
            running = false
            clearTimeout(timer)
        },
    }
}
