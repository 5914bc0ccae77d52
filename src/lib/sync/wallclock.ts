/**
 * Wall-clock time on a device that has none: the gateway's time from the last signed ack,
 * carried forward on the device's own uptime. Blocks sealed before the first ack carry no unix
 * time (FORMAT.md: the field is optional and informational; the boot counter and uptime order
 * the chain).
 */
export class WallClock {
    private unixMsAtSync = -1
    private uptimeAtSync = 0

    /** The gateway said `unixSeconds` at (about) `uptimeMs` of this boot. */
    set(unixSeconds: number, uptimeMs: number) {
        if (!(unixSeconds >= 0)) throw new RangeError("unixSeconds must be a time")
        this.unixMsAtSync = unixSeconds * 1000
        this.uptimeAtSync = uptimeMs
    }

    known(): boolean {
        return this.unixMsAtSync >= 0
    }

    /** Whole seconds since 1970 at `uptimeMs` of this boot, or undefined before the first sync. */
    unixSecondsAt(uptimeMs: number): number | undefined {
        if (this.unixMsAtSync < 0) return undefined
        const ms = this.unixMsAtSync + (uptimeMs - this.uptimeAtSync)
        return ms >= 0 ? Math.floor(ms / 1000) : undefined
    }
}
