/**
 * A device program of test/harness/ run in the DeviceScript simulator as a child process, its
 * output collected line by line (cleaned of the simulator's prefixes), for the end-to-end suites.
 */
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { parseLine } from "../../../src/lib/log/parse"
import { cleanLine } from "../../../tools/lib/devicelog"
import { devsCliPath } from "../../../tools/lib/devs"

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

export interface HarnessDevice {
    lines: string[]
    /** Resolves with the simulator's exit code when the program ends. */
    exited: Promise<number | null>
}

/** Starts `program` (a path under test/harness/); `onLine` sees every raw line as it comes. */
export function runHarnessDevice(program: string, onLine?: (raw: string) => void): HarnessDevice {
    const device = spawn(process.execPath, [devsCliPath(), "run", program, "--test", "-T", "120000"], { stdio: ["ignore", "pipe", "pipe"] })
    const lines: string[] = []
    const take = (raw: string) => {
        lines.push(cleanLine(raw))
        onLine?.(raw)
    }
    createInterface({ input: device.stdout! }).on("line", take)
    createInterface({ input: device.stderr! }).on("line", take)
    const exited = new Promise<number | null>(resolve => device.on("exit", code => resolve(code)))
    return { lines, exited }
}

/**
 * pk_0, once the device has printed it (`fl:signkey index=0`: it draws seed_0 at its first boot).
 * Throws, with the device's last lines, when it has not within 60 s.
 */
export async function firstPublicKey(device: HarnessDevice): Promise<string> {
    const deadline = Date.now() + 60000
    while (Date.now() < deadline) {
        for (const l of device.lines) {
            const p = parseLine(l)
            if (p && p.kind === "signkey" && p.keyIndex === 0) return p.publicKey
        }
        await sleep(100)
    }
    throw new Error("the device printed no fl:signkey index=0 within 60 s:\n" + device.lines.slice(-20).join("\n"))
}
