/**
 * Vitest global setup: a directory for this run's shared PostgreSQL cluster. Nothing starts
 * here: the first suite that needs PostgreSQL starts the cluster (helpers/pg.ts), and the
 * teardown stops it and removes the directory, also when suites failed or the run is interrupted.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import { stopPgCluster } from "../../../tools/lib/pgcluster"

declare module "vitest" {
    export interface ProvidedContext {
        pgRunDir: string
    }
}

export default function setup(project: TestProject) {
    const runDir = mkdtempSync(join(tmpdir(), "fl-pgrun-"))
    // The cluster's directory inside is the postgres user's: it must be able to pass through.
    chmodSync(runDir, 0o711)
    project.provide("pgRunDir", runDir)
    let done = false
    const teardown = () => {
        if (done) return
        done = true
        const info = join(runDir, "cluster.json")
        if (existsSync(info)) stopPgCluster((JSON.parse(readFileSync(info, "utf8")) as { dir: string }).dir)
        rmSync(runDir, { recursive: true, force: true })
    }
    const onSignal = (signal: NodeJS.Signals) => {
        teardown()
        process.kill(process.pid, signal)
    }
    process.once("SIGINT", onSignal)
    process.once("SIGTERM", onSignal)
    process.once("exit", teardown)
    return teardown
}
