/**
 * Device work per reading in the simulator: the VM time to sample + encode + append (sealing
 * full blocks), against a baseline that only reads the same simulated sensors, in the same VM
 * run over the same number of readings (test/harness/overhead-device.ts); and the firmware's
 * bytecode size per board (`devs build src/main_<board>.ts`).
 *
 * Method: the VM has no wall clock within a synchronous stretch, but ds.millis() does advance
 * across awaits; every loop iteration awaits ds.sleep(0), so the millis() difference over a
 * phase is its elapsed time including one scheduler pass per reading, the same in all phases.
 * Phases alternate over two rounds; the figures are the sums.
 */
import { readFileSync, statSync } from "node:fs"
import { cleanLine } from "../lib/devicelog"
import { runDevs } from "../lib/devs"
import type { BenchSection } from "./section"
import { measureSigningOnDevice } from "./signing"

const PROGRAM = "test/harness/overhead-device.ts"
const BOARDS = ["xiao_esp32c3", "esp32s3_devkitm", "pico_w", "pico"]

export const deviceOverhead: BenchSection = {
    name: "device",
    description:
        "device work per reading in the simulator (ledger vs read-only baseline), signing a checkpoint (VM ms, the sampler's lateness), and bytecode size per board",
    async run() {
        return await measure()
    },
}

/**
 * Where the image's function code ends (header, 16-byte descriptors, every function's bytecode):
 * what the runtime's verifier requires below 0x10000 (docs/DEVICESCRIPT.md).
 */
export function functionCodeEnd(dbgPath: string): number {
    const dbg = JSON.parse(readFileSync(dbgPath, "utf8")) as { functions: { startpc: number; size: number }[] }
    return Math.max(...dbg.functions.map(f => f.startpc + f.size))
}

async function measure() {
    const run = await runDevs(["run", PROGRAM, "--test", "--test-self-exit", "-T", "600000"], { timeoutMs: 600000 })
    const lines = run.output.split("\n").map(cleanLine)
    const config = lines.map(l => /fl:bench config readings=(\d+) seals=(\d+)/.exec(l)).find(m => m)
    if (!config || run.code !== 0) throw new Error("device overhead program failed:\n" + run.output.slice(-2000))
    const [readings, seals] = [Number(config[1]), Number(config[2])]
    const sum = (phase: string) => {
        let ms = 0
        let rounds = 0
        for (const l of lines) {
            const m = new RegExp(`fl:bench end ${phase} ms=(\\d+)`).exec(l)
            if (m) {
                ms += Number(m[1])
                rounds++
            }
        }
        return { ms, rounds }
    }
    const base = sum("baseline")
    const ledger = sum("ledger")
    const seal = sum("seal")
    const perBase = base.ms / (base.rounds * readings)
    const perLedger = ledger.ms / (ledger.rounds * readings)
    const perSeal = seal.ms / (seal.rounds * seals)
    const ratio = ledger.ms / base.ms
    const sizes: Record<string, number> = {}
    const functionCode: Record<string, number> = {}
    for (const board of BOARDS) {
        const b = await runDevs(["build", `src/main_${board}.ts`], { timeoutMs: 120000 })
        if (b.code !== 0) throw new Error(`devs build src/main_${board}.ts failed:\n${b.output}`)
        sizes[board] = statSync(".devicescript/bin/bytecode.devs").size
        functionCode[board] = functionCodeEnd(".devicescript/bin/bytecode-dbg.json")
    }
    const figures: Record<string, number> = {
        deviceOverheadRatio: ratio,
        deviceBaselineMsPerReading: perBase,
        deviceLedgerMsPerReading: perLedger,
        deviceSealMsPerBlock: perSeal,
    }
    for (const board of BOARDS) figures[`bytecodeBytes_${board}`] = sizes[board]
    for (const board of BOARDS) figures[`functionCodeBytes_${board}`] = functionCode[board]
    const signing = await measureSigningOnDevice()
    Object.assign(figures, signing.figures)
    const lines2 = [
        `method: ${base.rounds} rounds in one simulator VM; ${readings} readings a phase, as fast as the VM runs them (one ds.sleep(0) per reading in every phase);`,
        `        time from ds.millis() across the phase (it advances across awaits); blocks of 60 readings as on hardware`,
        `| phase | ms per reading |`,
        `| --- | ---: |`,
        `| baseline: read 3 simulated sensors | ${perBase.toFixed(3)} |`,
        `| ledger: read + encode + append + seal when full | ${perLedger.toFixed(3)} |`,
        `| ledger / baseline | **${ratio.toFixed(2)}x** (goal <= 1.5x) |`,
        `seal one block (hash link + HMAC + key step): ${perSeal.toFixed(3)} ms`,
        `| board | bytecode (.devs) bytes | function code: offset of its end (the VM refuses >= 65,536) |`,
        `| --- | ---: | ---: |`,
        ...BOARDS.map(b => `| fl_${b} | ${sizes[b]} | ${functionCode[b]} |`),
        ...signing.lines,
    ]
    return { lines: lines2, figures }
}
