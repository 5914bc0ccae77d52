/**
 * What the end-to-end sync harnesses share (test/harness/sync-device.ts,
 * test/harness/signed-sync-device.ts, test/harness/encrypted-sync-device.ts): the real wiring
 * (src/device/device.ts) with fast timing and a channel that counts readings, syncing to a
 * gateway on 127.0.0.1:18787 unless told another URL.
 */
import { runDevice } from "../../src/device/device"
import { ChannelSource } from "../../src/sensing/sensors"

/** Where the harnesses' gateway listens (each suite's fault-injecting proxy). */
export const SYNC_HARNESS_URL = "http://127.0.0.1:18787"

let count = 0
/** Reads 0, 1, 2, ...: each reading's position, so a test sees any reading lost or altered. */
export const countingChannel: ChannelSource = {
    spec: { name: "count", unit: "1", exponent: 0 },
    read: async () => count++,
}

/** Readings the counting channel has given so far. */
export function readingsTaken(): number {
    return count
}

/**
 * Starts the device: a block at least every second, a small backlog that drops its oldest; the
 * retry and signing pace are the harness's, and so may be the gateway URL and the channels
 * (default: the counting channel alone).
 */
export async function runSyncHarness(
    pace: { maxBackoffMs: number; signEvery: number; signHours: number },
    wiring: { gatewayUrl?: string; sources?: ChannelSource[] } = {}
) {
    return await runDevice({
        config: {
            board: "simulator",
            ledger: { intervalMs: 100, maxBlockAgeMs: 1000 },
            checkpointEvery: 10,
            maxBacklogBlocks: 28,
            whenFull: "drop-oldest",
            gatewayUrl: wiring.gatewayUrl || SYNC_HARNESS_URL,
            syncPeriodMs: 300,
            maxBackoffMs: pace.maxBackoffMs,
            signEvery: pace.signEvery,
            signHours: pace.signHours,
        },
        sources: wiring.sources || [countingChannel],
    })
}
