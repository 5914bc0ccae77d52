/** Helpers of the simulator suites: the fieldledger command as a process, and polling. */
import { spawn } from "node:child_process"

/** Runs `fieldledger ARGS` (bin/fieldledger.mjs) and collects its output. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise(resolve => {
        const child = spawn(process.execPath, ["bin/fieldledger.mjs", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
        let stdout = ""
        let stderr = ""
        child.stdout.on("data", d => (stdout += d))
        child.stderr.on("data", d => (stderr += d))
        child.on("close", code => resolve({ code, stdout, stderr }))
    })
}

/** Polls `check` until it gives a value (not undefined or false). */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
        const v = await check()
        if (v !== undefined && v !== false) return v
        if (Date.now() > deadline) throw new Error("timed out waiting for " + what)
        await new Promise(r => setTimeout(r, 250))
    }
}
