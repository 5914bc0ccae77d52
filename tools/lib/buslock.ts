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

function tryTake(path: string): boolean {
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

/** Waits (up to `timeoutMs`) for the bus; returns the release function. */
export async function acquireBusLock(port: number, timeoutMs: number, onWait?: (message: string) => void): Promise<() => void> {
    const path = join(tmpdir(), `fieldledger-devtools-${port}.lock`)
    const deadline = Date.now() + timeoutMs
    let told = false
    while (!tryTake(path)) {
        if (Date.now() > deadline) throw new Error(`the simulator bus (port ${port}) is still in use by another fieldledger process after ${timeoutMs / 1000} s (lock ${path})`)
        if (!told && onWait) onWait(`waiting for the simulator bus (port ${port}): another fieldledger process is using it`)
        told = true
        await new Promise(r => setTimeout(r, 250))
    }
    let released = false
    return () => {
        if (!released) rmSync(path, { force: true })
        released = true
    }
}
