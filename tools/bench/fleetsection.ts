/**
 * The `fleet` bench section: the multi-gateway fault run (fleet.ts) on a private PostgreSQL
 * cluster, as a figure: blocks lost and duplicated across gateway kills (both must be 0).
 */
import { postgresInstalled, startPgCluster } from "../lib/pgcluster"
import { runFleetFaultRun } from "./fleet"
import type { BenchSection } from "./section"

export const fleet: BenchSection = {
    name: "fleet",
    description: "3 gateways on one PostgreSQL, gateways SIGKILLed during the traffic: blocks lost and duplicated",
    async run({ quick }) {
        if (!postgresInstalled()) return { lines: ["  skipped: PostgreSQL 15 is not installed"], figures: {} }
        const cluster = await startPgCluster()
        try {
            const devices = quick ? 4 : 16
            const blocksPerDevice = quick ? 40 : 200
            const kills = quick ? 3 : 10
            const r = await runFleetFaultRun({
                dbUrl: await cluster.createDatabase("bench_fleet"),
                gateways: 3,
                devices,
                blocksPerDevice,
                kills,
            })
            if (r.unexpected.length > 0)
                throw new Error("the fleet run met replies no device should see: " + r.unexpected.slice(0, 5).join("; "))
            return {
                lines: [
                    `  ${devices} devices x ${blocksPerDevice} blocks, 3 gateways, ${r.kills} SIGKILLs (seed ${r.seed}): ${r.requests} requests, ${r.failedRequests} met a dead gateway`,
                    `  blocks lost ${r.lost}, duplicated ${r.duplicated} (goal 0 and 0); ${r.verified}/${devices} exports verify; fork at 2 gateways: ${r.fork.statuses.join(" and ")}, recorded ${r.fork.eventRows} time(s); ${r.seconds.toFixed(1)} s`,
                ],
                figures: { pgFaultRunLost: r.lost, pgFaultRunDuplicated: r.duplicated },
            }
        } finally {
            cluster.stop()
        }
    },
}
