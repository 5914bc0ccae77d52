/**
 * PostgreSQL for the suites: one cluster per test run, shared by every suite (started by the
 * first that asks, under a lock in the run directory helpers/pgsetup.ts made; stopped by its
 * teardown), and a database of its own per suite.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs"
import { join } from "node:path"
import { inject } from "vitest"
import { attachPgCluster, PgCluster, PgClusterInfo, startPgCluster } from "../../../tools/lib/pgcluster"

/** How long a suite waits for another suite's cluster to start. */
const START_LIMIT_MS = 120_000

let shared: Promise<PgCluster> | undefined

/** The run's cluster, started on first use. */
export function sharedPgCluster(): Promise<PgCluster> {
    shared ??= acquire()
    return shared
}

async function acquire(): Promise<PgCluster> {
    const runDir = inject("pgRunDir")
    if (!runDir) throw new Error("no pgRunDir: the node project's globalSetup (test/node/helpers/pgsetup.ts) did not run")
    const info = join(runDir, "cluster.json")
    const failed = join(runDir, "failed")
    try {
        mkdirSync(join(runDir, "lock"))
    } catch {
        // Another suite starts it: wait for its cluster.json (or its failure).
        const deadline = Date.now() + START_LIMIT_MS
        while (!existsSync(info)) {
            if (existsSync(failed)) throw new Error("the shared PostgreSQL cluster failed to start: " + readFileSync(failed, "utf8"))
            if (Date.now() > deadline) throw new Error("waited " + START_LIMIT_MS / 1000 + " s for the shared PostgreSQL cluster to start")
            await new Promise(resolve => setTimeout(resolve, 100))
        }
        return attachPgCluster(JSON.parse(readFileSync(info, "utf8")) as PgClusterInfo)
    }
    try {
        const dir = join(runDir, "cluster")
        mkdirSync(dir)
        const cluster = await startPgCluster(dir)
        writeFileSync(info, JSON.stringify({ dir: cluster.dir, port: cluster.port }))
        return cluster
    } catch (e) {
        writeFileSync(failed, e instanceof Error ? e.message : String(e))
        throw e
    }
}

/** A fresh database for the calling suite on the run's cluster; its URL. */
export async function testPgDatabase(name: string): Promise<string> {
    return (await sharedPgCluster()).createDatabase("fl_" + name + "_" + process.pid)
}
