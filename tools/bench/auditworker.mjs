// The auditor of the tlog bench, in its own thread as it would be in its own process: the
// gateway's thread serves, this one fetches and hashes. TypeScript through tsx, like bin/.
import { parentPort, workerData } from "node:worker_threads"
import { register } from "tsx/esm/api"

register()
const { runAudit } = await import("../lib/tlog/audit.ts")
const { httpSource } = await import("../audit.ts")
const { parseVerifierKey } = await import("../lib/tlog/note.ts")
const { nodeCrypto } = await import("../lib/crypto.ts")
try {
    const start = performance.now()
    const { state } = await runAudit({
        source: httpSource(workerData.url),
        verifier: parseVerifierKey(workerData.verifierKey),
        verifierKey: workerData.verifierKey,
        crypto: nodeCrypto,
        skipExports: true,
    })
    parentPort.postMessage({ seconds: (performance.now() - start) / 1000, size: state.checkpoint.size })
} catch (e) {
    parentPort.postMessage({ error: String(e && e.stack) })
}
