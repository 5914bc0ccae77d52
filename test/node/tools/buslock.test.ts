import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, test } from "vitest"
import { acquireBusLock } from "../../../tools/lib/buslock"

// A port no real bus uses, so this never meets the simulator suites' lock.
const PORT = 65001
const lockFile = join(tmpdir(), `fieldledger-devtools-${PORT}.lock`)

describe("simulator bus lock", () => {
    test("one holder at a time: a second waits, then gives up with a message naming the port", async () => {
        const release = await acquireBusLock(PORT, 1000)
        expect(readFileSync(lockFile, "utf8")).toBe(String(process.pid))
        const waits: string[] = []
        await expect(acquireBusLock(PORT, 600, m => waits.push(m))).rejects.toThrow(/port 65001/)
        expect(waits.length).toBe(1)
        release()
        expect(existsSync(lockFile)).toBe(false)
        ;(await acquireBusLock(PORT, 1000))()
    })

    test("takes over a lock whose process is gone", async () => {
        const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" })
        writeFileSync(lockFile, dead.stdout)
        const release = await acquireBusLock(PORT, 3000)
        expect(readFileSync(lockFile, "utf8")).toBe(String(process.pid))
        release()
    })
})
