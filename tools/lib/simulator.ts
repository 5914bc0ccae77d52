/**
 * Runs the firmware in the DeviceScript simulator the way a developer does: a `devs devtools`
 * bus (TCP 127.0.0.1:8082) and a VM running src/main.ts on it. Lines of the VM's console come
 * back through `onLine`; stop() ends both processes.
 */
import { ChildProcess, spawn } from "node:child_process"
import { rmSync } from "node:fs"
import { createConnection } from "node:net"
import { createInterface } from "node:readline"
import { acquireBusLock } from "./buslock"
import { devsCliPath } from "./devs"

export const DEVTOOLS_TCP_PORT = 8082
/** Where `devs run` keeps the simulated device's flash (relative to the project). */
export const SIM_FLASH_FILE = ".devicescript/flash/sim.bin"
/** How long a tool waits for another fieldledger process to free the bus before it gives up. */
export const DEFAULT_BUS_WAIT_MS = 15 * 60 * 1000

export interface SimulatorOptions {
    program: string
    deviceId?: string
    onLine(line: string): void
    onExit?(what: string, code: number | null): void
}

function portOpen(port: number): Promise<boolean> {
    return new Promise(resolve => {
        const socket = createConnection({ host: "127.0.0.1", port })
        socket.once("connect", () => {
            socket.destroy()
            resolve(true)
        })
        socket.once("error", () => resolve(false))
    })
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!(await portOpen(port))) {
        if (Date.now() > deadline) throw new Error("devtools did not open port " + port + " within " + timeoutMs / 1000 + " s")
        await new Promise(r => setTimeout(r, 200))
    }
}

export class Simulator {
    private readonly children: ChildProcess[] = []
    private stopping = false
    private releaseBus?: () => void

    /** Runs `devs ARGS` (with optional node flags such as --require) and streams its lines. */
    launch(name: string, args: string[], options: Pick<SimulatorOptions, "onLine" | "onExit">, nodeArgs: string[] = []): ChildProcess {
        const child = spawn(process.execPath, [...nodeArgs, devsCliPath(), ...args], { stdio: ["ignore", "pipe", "pipe"] })
        for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on("line", options.onLine)
        child.on("exit", code => {
            if (!this.stopping) options.onExit?.(name, code)
        })
        this.children.push(child)
        return child
    }

    /**
     * Starts the devtools bus that VMs connect to with --tcp. `freshFlash` erases the simulated
     * device's flash first, once the bus is ours: the flash file is shared like the port.
     */
    async startBus(onWait?: (message: string) => void, freshFlash = false, busWaitMs = DEFAULT_BUS_WAIT_MS): Promise<void> {
        this.releaseBus = await acquireBusLock(DEVTOOLS_TCP_PORT, busWaitMs, onWait)
        // Stopped while waiting for the bus: leave it to the next in line.
        if (this.stopping) return this.releaseBus()
        if (freshFlash) rmSync(SIM_FLASH_FILE, { force: true })
        // The previous holder's devtools may take a moment to close its port after SIGTERM.
        const deadline = Date.now() + 10000
        while (await portOpen(DEVTOOLS_TCP_PORT)) {
            if (Date.now() > deadline) {
                this.releaseBus()
                throw new Error(
                    "port " +
                        DEVTOOLS_TCP_PORT +
                        " is in use: is another `devs devtools` (or VS Code's DeviceScript) running? Stop it first."
                )
            }
            await new Promise(r => setTimeout(r, 250))
        }
        this.launch("devtools", ["devtools"], { onLine: () => {} })
        await waitForPort(DEVTOOLS_TCP_PORT, 30000)
    }

    async start(
        options: SimulatorOptions & { onWait?: (message: string) => void; freshFlash?: boolean; busWaitMs?: number }
    ): Promise<void> {
        await this.startBus(options.onWait, options.freshFlash, options.busWaitMs)
        if (this.stopping) return
        const args = ["run", options.program, "--tcp"]
        if (options.deviceId) args.push("--device-id", options.deviceId)
        this.launch("vm", args, options)
    }

    stop() {
        this.stopping = true
        for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
        this.releaseBus?.()
    }
}
