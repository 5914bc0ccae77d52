/**
 * One `devs devtools` bus per machine: it listens on a fixed port (8082), so the tools and test
 * suites that need it (start, powercut, provisioning against the simulator) take turns. The
 * lock is a file created exclusively (atomic on every OS) holding the owner's pid; a lock whose
 * process is gone is stale and taken over.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0)
        return true
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM"
    }
}

/**
 * Takes the lock file at `path` if no live process holds it (a dead owner's is taken over):
 * true when it is ours. The same pid file guards other shared things than the bus (the data
 * of `fieldledger start`).
 */
export function tryTake(path: string): boolean {
    try {
        const fd = openSync(path, "wx", 0o600)
        writeSync(fd, String(process.pid))
        closeSync(fd)
        return true
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    }
    let owner = NaN
    try {
        owner = Number(readFileSync(path, "utf8"))
    } catch {
        return false // released in between: try again on the next round
    }
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !alive(owner)) {
        // Take the stale file aside under a name of our own, then look again at what we took:
        // between our read and the rename another waiter may have replaced it with a live lock.
        const aside = path + "." + process.pid + ".stale"
        try {
            renameSync(path, aside)
        } catch {
            return false
        }
        let taken = NaN
        try {
            taken = Number(readFileSync(aside, "utf8"))
        } catch {}
        if (taken !== owner && Number.isInteger(taken) && alive(taken)) {
            // A live lock: put it back unless someone took the free place meanwhile.
            try {
                linkSync(aside, path)
            } catch {}
        }
        rmSync(aside, { force: true })
    }
    return false
}

/** The pid in the lock file, if it holds one. */
export function lockOwner(path: string): number | undefined {
    try {
        const pid = Number(readFileSync(path, "utf8"))
        return Number.isInteger(pid) && pid > 0 ? pid : undefined
    } catch {
        return undefined
    }
}

function seconds(ms: number): string {
    const s = Math.round(ms / 1000)
    return s < 60 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s"
}

/**
 * Waits (up to `timeoutMs`) for the bus; returns the release function. While it waits it
 * reports, at once and then every `reportEveryMs`, how long it has waited and which process
 * holds the bus, so a wait of minutes never looks like a hang.
 */
export async function acquireBusLock(
    port: number,
    timeoutMs: number,
    onWait?: (message: string) => void,
    reportEveryMs = 30000
): Promise<() => void> {
    const path = join(tmpdir(), `fieldledger-devtools-${port}.lock`)
    const start = Date.now()
    let nextReport = start
    const holder = () => {
        const pid = lockOwner(path)
        return pid ? "pid " + pid + " (ps -p " + pid + ")" : "another fieldledger process"
    }
    while (!tryTake(path)) {
        const waited = Date.now() - start
        if (waited > timeoutMs)
            throw new Error(
                `the simulator bus (port ${port}) is still held by ${holder()} after ${seconds(timeoutMs)} (lock ${path}): stop that process, or try again when it is done`
            )
        if (onWait && Date.now() >= nextReport) {
            onWait(
                nextReport === start
                    ? `waiting for the simulator bus (port ${port}): held by ${holder()}; giving up after ${seconds(timeoutMs)}`
                    : `still waiting for the simulator bus (port ${port}) after ${seconds(waited)}: held by ${holder()}`
            )
            nextReport = Date.now() + reportEveryMs
        }
        await new Promise(r => setTimeout(r, 250))
    }
    let released = false
    return () => {
        if (!released) rmSync(path, { force: true })
        released = true
    }
}
