/** Running the DeviceScript CLI (devs) from the Node tools and tests. */
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

const require = createRequire(import.meta.url)

/** Path of the devs CLI script inside node_modules (pinned in package.json). */
export function devsCliPath(): string {
    return join(dirname(require.resolve("@devicescript/cli/package.json")), "devicescript")
}

export interface DevsRunResult {
    code: number | null
    output: string
}

/** Runs `devs ARGS` to completion and returns its combined output (ANSI colours kept). */
export function runDevs(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<DevsRunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [devsCliPath(), ...args], { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] })
        let output = ""
        child.stdout.on("data", d => (output += d))
        child.stderr.on("data", d => (output += d))
        const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : undefined
        child.on("error", reject)
        child.on("close", code => {
            if (timer) clearTimeout(timer)
            resolve({ code, output })
        })
    })
}
