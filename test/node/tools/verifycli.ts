/** What the `fieldledger verify` suites share: a scratch folder of export files, and the command run as a user runs it. */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"

/** A scratch folder (removed after the calling file's tests) and `file(name, text)`, which writes into it and gives the path. */
export function scratchFiles(prefix: string): { dir: string; file(name: string, text: string): string } {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))
    return {
        dir,
        file(name, text) {
            const path = join(dir, name)
            writeFileSync(path, text)
            return path
        },
    }
}

/** `fieldledger verify ARGS` (bin/fieldledger.mjs, a real process): exit code and output. */
export function runVerify(...args: string[]) {
    const r = spawnSync(process.execPath, ["bin/fieldledger.mjs", "verify", ...args], { encoding: "utf8" })
    return { code: r.status, out: r.stdout, err: r.stderr }
}
