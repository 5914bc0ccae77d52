/**
 * `fieldledger gateway` as a child process on a SQLite file, for the end-to-end suites: started
 * (and, after a kill, started again on the same database) with a fresh master key and log key,
 * an admin token, and a free port; `start` resolves once it listens.
 */
import { ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort } from "../../../tools/lib/ports"

export class GatewayProcess {
    child?: ChildProcess
    /** Its database file. */
    readonly db: string
    private readonly keyFile: string

    private constructor(
        dir: string,
        readonly adminToken: string,
        readonly port: number
    ) {
        this.db = join(dir, "gateway.db")
        this.keyFile = join(dir, "master.key")
        writeFileSync(this.keyFile, randomBytes(32).toString("hex"), { mode: 0o600 })
    }

    /** A gateway in `dir` (its database, master key and log key go there), started. */
    static async launch(dir: string, adminToken: string): Promise<GatewayProcess> {
        const gateway = new GatewayProcess(dir, adminToken, await freePort())
        await gateway.start()
        return gateway
    }

    async start() {
        const args = [
            "--db",
            this.db,
            "--port",
            String(this.port),
            "--master-key-file",
            this.keyFile,
            "--log-key-file",
            this.keyFile + ".log",
        ]
        const child = spawn(process.execPath, ["bin/fieldledger.mjs", "gateway", ...args], {
            env: { ...process.env, FL_ADMIN_TOKEN: this.adminToken },
            stdio: ["ignore", "pipe", "pipe"],
        })
        this.child = child
        let output = ""
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error("the gateway did not say it was listening within 30 s: " + output)), 30000)
            const onData = (d: Buffer) => {
                output += d
                if (output.includes("listening on")) {
                    clearTimeout(timer)
                    resolve()
                }
            }
            child.stdout!.on("data", onData)
            child.stderr!.on("data", onData)
            child.once("exit", code => reject(new Error("gateway exited (" + code + "): " + output)))
        })
    }

    kill() {
        this.child?.kill("SIGKILL")
    }

    url(path: string) {
        return "http://127.0.0.1:" + this.port + path
    }

    /** A request with the admin token. */
    admin(path: string, init: RequestInit = {}): Promise<Response> {
        return fetch(this.url(path), {
            ...init,
            headers: { ...(init.headers as Record<string, string>), authorization: "Bearer " + this.adminToken },
        })
    }

    /** Registers a device as `fieldledger register` does (201 expected by the caller). */
    register(device: { deviceId: string; key0: string; label: string; publicKey?: string }): Promise<Response> {
        return this.admin("/v1/devices", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(device) })
    }
}
