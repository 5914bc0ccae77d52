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

    test("while it waits it says how long and which process holds the bus, and gives up naming it", async () => {
        const release = await acquireBusLock(PORT, 1000)
        try {
            const waits: string[] = []
            const err = (await acquireBusLock(PORT, 1500, m => waits.push(m), 400).then(
                (): unknown => undefined,
                (e: unknown) => e
            )) as Error
            expect(err.message).toContain(`is still held by pid ${process.pid} (ps -p ${process.pid}) after 2 s`)
            expect(waits[0]).toBe(
                `waiting for the simulator bus (port ${PORT}): held by pid ${process.pid} (ps -p ${process.pid}); giving up after 2 s`
            )
            expect(waits.length).toBeGreaterThan(1)
            expect(waits[1]).toMatch(
                new RegExp(`^still waiting for the simulator bus \\(port ${PORT}\\) after \\d+ s: held by pid ${process.pid} `)
            )
        } finally {
            release()
        }
    })

    test("takes over a lock whose process is gone", async () => {
        const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" })
        writeFileSync(lockFile, dead.stdout)
        const release = await acquireBusLock(PORT, 3000)
        expect(readFileSync(lockFile, "utf8")).toBe(String(process.pid))
        release()
    })
})
