/**
 * The last step of a generator of checked-in files (tools/gen-checkpoint-vectors.ts,
 * tools/gen-encrypted-vectors.ts, tools/gen-ed25519-table.ts): write each output, or with --check compare it with what is on
 * disk and say which one is stale.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

/**
 * Writes each [path relative to root, text] (printing what it wrote), or with `check` writes
 * nothing and prints staleMessage(rel) for each file that differs. Returns whether any was stale.
 */
export function writeOrCheck(root: string, outputs: [string, string][], check: boolean, staleMessage: (rel: string) => string): boolean {
    let stale = false
    for (const [rel, text] of outputs) {
        const path = join(root, rel)
        if (check) {
            let current = ""
            try {
                current = readFileSync(path, "utf8")
            } catch {}
            if (current !== text) {
                console.error(staleMessage(rel))
                stale = true
            }
        } else {
            writeFileSync(path, text)
            console.log("wrote " + rel + " (" + text.length + " characters)")
        }
    }
    return stale
}
