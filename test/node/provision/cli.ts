/** Helpers of the simulator suites: the fieldledger command as a process, and polling. */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startGateway } from "../../../tools/gateway/server"
import { parseLine } from "../../../src/lib/log/parse"
import { cleanLine } from "../../../tools/lib/devicelog"
import { Simulator } from "../../../tools/lib/simulator"

/** Runs `fieldledger ARGS` (bin/fieldledger.mjs) and collects its output. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise(resolve => {
        const child = spawn(process.execPath, ["bin/fieldledger.mjs", ...args], {
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        })
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

/**
 * A gateway in this process (admin token in a 0600 file) and the firmware in the simulator on
 * the devtools bus with fresh flash, booted: the setting of every simulator suite.
 */
export async function startSimulatedSetup(o: { deviceId: string; token: string; tempPrefix: string; masterKeyFill: number }) {
    const dir = mkdtempSync(join(tmpdir(), o.tempPrefix))
    const tokenFile = join(dir, "token")
    writeFileSync(tokenFile, o.token + "\n", { mode: 0o600 })
    // Reads open (--public-read): these suites are about provisioning, not about who reads.
    const gw = await startGateway({
        db: join(dir, "gw.db"),
        port: 0,
        adminToken: o.token,
        masterKey: Buffer.alloc(32, o.masterKeyFill),
        publicRead: true,
    })
    const sim = new Simulator()
    const lines: string[] = []
    // Fresh flash only once the bus lock is ours: another suite's VM may be using the file until then.
    await sim.startBus(undefined, true)
    sim.launch("vm", ["run", "src/main.ts", "--tcp", "--device-id", o.deviceId], {
        onLine: l => lines.push(cleanLine(l)),
        onExit: () => {},
    })
    await until("the simulated device to boot", () => lines.some(l => parseLine(l)?.kind === "boot"))
    return {
        dir,
        tokenFile,
        gw,
        sim,
        lines,
        close: async () => {
            sim.stop()
            await gw.close()
            rmSync(dir, { recursive: true, force: true })
        },
    }
}
