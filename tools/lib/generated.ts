/**
 * The last step of a generator of checked-in files (tools/gen-checkpoint-vectors.ts,
 * tools/gen-encrypted-vectors.ts, tools/gen-ed25519-table.ts): write each output, or with --check compare it with what is on
 * disk and say which one is stale; `runGenerator` is the whole command line of one that takes
 * no option but --check.
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

/**
 * The command line of `script` (its path, for messages), a generator whose only option is
 * --check: --help prints `help`; an unknown argument prints it to stderr and exits 2; otherwise
 * writes or checks `outputs` under `root` and exits 1 when one is stale.
 */
export function runGenerator(script: string, help: string, root: string, outputs: [string, string][]): void {
    const args = process.argv.slice(2)
    if (args.includes("--help") || args.includes("-h")) {
        console.log(help)
        process.exit(0)
    }
    const unknown = args.filter(a => a !== "--check")
    if (unknown.length > 0) {
        console.error("unknown argument: " + unknown[0] + "\n\n" + help)
        process.exit(2)
    }
    const stale = writeOrCheck(
        root,
        outputs,
        args.includes("--check"),
        rel => rel + " is not what " + script + " writes (run it without --check)"
    )
    if (stale) process.exit(1)
}
