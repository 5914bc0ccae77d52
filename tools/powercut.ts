/**
 * `fieldledger powercut`: the power-loss fault injection. Runs the firmware's real wiring
 * (test/harness/powercut-device.ts over src/device/device.ts) in the DeviceScript simulator with its
 * flash persisted in .devicescript/flash/sim.bin, kills the VM process with SIGKILL at random
 * (seeded) instants, restarts it, and at the end checks everything the device ever showed:
 * every block verifies in one chain under the development key, no seq was sealed with two
 * different contents, readings of each boot are contiguous, and no kill lost more readings
 * than the checkpoint interval allows. Signed checkpoints (the harness signs every 2 blocks): no
 * key index ever signed two different records (forward security across cuts), and the chain
 * verifies publicly, up to its last signed checkpoint, from the pk_0 of the first boot.
 */
import { decodeBlock } from "../src/lib/ledger/chain"
import { RECORD_CHECKPOINT } from "../src/lib/codec/format"
import { SIMULATOR_DEV_KEY_HEX } from "../src/lib/ledger/devkey"
import { verifyChain } from "../src/lib/ledger/verify"
import { commandLine, UsageError } from "./lib/args"
import { nobleCrypto } from "./lib/crypto"
import { verifyEd25519 } from "./lib/ed25519"
import { BlockLogParser, cleanLine } from "./lib/devicelog"
import { parseLine } from "../src/lib/log/parse"
import { Simulator } from "./lib/simulator"
import { seededRandom } from "./lib/random"

export const POWERCUT_HELP = `Usage: fieldledger powercut [--kills N] [--seed S] [--min-ms MS] [--max-ms MS] [--json]

Kills the simulated device N times at random instants (seeded) and checks the chain it leaves.
Erases the simulator's flash first. Takes about 4 s per kill.

Options:
  --kills N     how many power cuts (default 8; the full run is 200)
  --seed S      seed of the kill instants (default 1)
  --min-ms MS   shortest run after boot before a kill (default 300)
  --max-ms MS   longest run after boot before a kill (default 3000)
  --json        print the figures as JSON
  -h, --help    this help`

/** Readings between checkpoints in the harness device (test/harness/powercut-device.ts). */
export const HARNESS_CHECKPOINT_EVERY = 10
const DEVICE_ID = "f1e1d1ed9e0c0c01"
const PROGRAM = "test/harness/powercut-device.ts"
/** The last boot's run (no cut): time to show the backlog and to sign once more. */
const FINAL_RUN_MS = 8000

export interface PowercutFigures {
    kills: number
    blocks: number
    readings: number
    readingsLost: number
    maxLostPerKill: number
    gapRecords: number
    /** Sampler slots recorded as all-missing readings (the sampler ran late), not counted as readings taken. */
    skippedSlots: number
    /** Signed checkpoints in the final chain, and the last seq publicly verified (-1: none). */
    signedCheckpoints: number
    signedUpTo: number
}

function numberOption(text: string | undefined, fallback: number, name: string): number {
    if (text === undefined) return fallback
    const n = Number(text)
    if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(name + " must be a non-negative integer")
    return n
}

interface RunLog {
    lines: string[]
}

/** One boot of the device: runs until it has booted and `runMs` passed, then SIGKILL. */
async function bootAndKill(sim: Simulator, runMs: number): Promise<RunLog> {
    const log: RunLog = { lines: [] }
    await new Promise<void>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined
        const watchdog = setTimeout(
            () => reject(new Error("the device did not boot within 60 s:\n" + log.lines.slice(-20).join("\n"))),
            60000
        )
        const child = sim.launch(
            "vm",
            ["run", PROGRAM, "--tcp", "--device-id", DEVICE_ID],
            {
                onLine: line => {
                    const clean = cleanLine(line)
                    log.lines.push(clean)
                    if (parseLine(clean)?.kind === "boot" && !timer) timer = setTimeout(() => child.kill("SIGKILL"), runMs)
                },
                onExit: () => {},
            },
            ["--require", "./tools/lib/atomic-flash-save.cjs"]
        )
        child.on("exit", () => {
            clearTimeout(watchdog)
            if (timer) clearTimeout(timer)
            resolve()
        })
    })
    return log
}

export async function powercut(
    kills: number,
    seed: number,
    minMs: number,
    maxMs: number,
    progress: (s: string) => void
): Promise<PowercutFigures> {
    const random = seededRandom(seed)
    const sim = new Simulator()
    const runs: RunLog[] = []
    try {
        await sim.startBus(undefined, true)
        for (let k = 0; k <= kills; k++) {
            // The last run is not a cut: it boots, shows the stored backlog, and runs long enough
            // for the signer (first look 2 s after boot, a checkpoint every 2 blocks) to store a
            // signed checkpoint over everything the cuts left, then it is stopped.
            const runMs = k === kills ? FINAL_RUN_MS : Math.round(minMs + random() * (maxMs - minMs))
            runs.push(await bootAndKill(sim, runMs))
            progress(k === kills ? "final boot done" : `kill ${k + 1}/${kills} after ${runMs} ms`)
        }
    } finally {
        sim.stop()
    }
    return checkRuns(runs)
}

/** Everything the device printed across all boots, checked as one chain. */
export function checkRuns(runs: RunLog[]): PowercutFigures {
    const bySeq = new Map<number, Buffer>()
    const ticks = new Map<number, number>()
    // Every signed checkpoint the device ever showed (stored, so released), by key index.
    const byKeyIndex = new Map<number, Buffer>()
    let publicKey0: Buffer | undefined
    for (const run of runs) {
        const parser = new BlockLogParser()
        for (const line of run.lines) {
            const tick = parseLine(line)
            if (tick && tick.kind === "tick") ticks.set(tick.boot, Math.max(ticks.get(tick.boot) ?? 0, tick.n))
            if (tick && tick.kind === "signkey" && tick.keyIndex === 0 && !publicKey0) publicKey0 = Buffer.from(tick.publicKey, "hex")
            let block
            try {
                block = parser.push(line)
            } catch {
                continue // a kill can cut a block's console lines short; the next boot shows it again
            }
            if (!block) continue
            const seen = bySeq.get(block.seq)
            if (seen && !seen.equals(block.bytes)) throw new Error(`seq ${block.seq} was sealed twice with different content`)
            bySeq.set(block.seq, block.bytes)
            if (block.bytes[1] === RECORD_CHECKPOINT) {
                const keyIndex = decodeBlock(block.bytes).checkpoint!.keyIndex
                const signed = byKeyIndex.get(keyIndex)
                if (signed && !signed.equals(block.bytes))
                    throw new Error(
                        `signing key ${keyIndex} signed two different checkpoints (seqs ${decodeBlock(signed).header.seq} and ${block.seq})`
                    )
                byKeyIndex.set(keyIndex, block.bytes)
            }
        }
    }
    const seqs = [...bySeq.keys()].sort((a, b) => a - b)
    const blocks = seqs.map(s => bySeq.get(s)!)
    const genesis = decodeBlock(blocks[0]).genesis
    if (!genesis) throw new Error("the device never showed its genesis block")
    if (!publicKey0) throw new Error("the device never showed its signing key (fl:signkey index=0)")
    const report = verifyChain(nobleCrypto, blocks, {
        deviceId: genesis.deviceId,
        key0: Buffer.from(SIMULATOR_DEV_KEY_HEX, "hex"),
        publicKey0,
        verifySignature: verifyEd25519,
    })
    if (!report.ok)
        throw new Error(`the chain does not verify: ${report.failure!.reason} at index ${report.failure!.index} [${report.failure!.code}]`)
    // Readings per boot, in order: each is its index within the boot (the harness's counter).
    const perBoot = new Map<number, number>()
    let skippedSlots = 0
    for (const bytes of blocks) {
        const b = decodeBlock(bytes)
        if (!b.readings) continue
        for (const r of b.readings) {
            const boot = b.header.time.boot
            const next = perBoot.get(boot) ?? 0
            // A slot the sampler could not serve in time (its fiber ran late: a loaded host, a
            // checkpoint being signed) is a declared all-missing reading; it took no count.
            if (r[0] === null) {
                skippedSlots++
                continue
            }
            if (r[0] !== next)
                throw new Error(`boot ${boot}: reading ${next} has value ${r[0]}: readings duplicated, reordered or lost inside the chain`)
            perBoot.set(boot, next + 1)
        }
    }
    let lost = 0
    let maxLost = 0
    const lastBoot = Math.max(...ticks.keys())
    for (const [boot, taken] of ticks) {
        if (boot === lastBoot) continue
        const kept = perBoot.get(boot) ?? 0
        const lostHere = taken - kept
        if (lostHere > HARNESS_CHECKPOINT_EVERY + 1)
            throw new Error(
                `boot ${boot}: ${lostHere} readings lost, more than the checkpoint interval of ${HARNESS_CHECKPOINT_EVERY} allows`
            )
        lost += Math.max(0, lostHere)
        maxLost = Math.max(maxLost, lostHere)
    }
    return {
        kills: runs.length - 1,
        blocks: blocks.length,
        readings: report.summary.readings,
        readingsLost: lost,
        maxLostPerKill: maxLost,
        gapRecords: report.summary.gaps.length,
        skippedSlots,
        signedCheckpoints: report.summary.signed!.checkpoints,
        signedUpTo: report.summary.signed!.verifiedTo ?? -1,
    }
}

export async function runPowercut(argv: string[]): Promise<number> {
    const cli = commandLine(
        argv,
        {
            kills: { type: "string" },
            seed: { type: "string" },
            "min-ms": { type: "string" },
            "max-ms": { type: "string" },
            json: { type: "boolean" },
        },
        POWERCUT_HELP,
        { positionals: "ignored" }
    )
    if (!cli) return 0
    const kills = numberOption(cli.string("kills"), 8, "--kills")
    const seed = numberOption(cli.string("seed"), 1, "--seed")
    const minMs = numberOption(cli.string("min-ms"), 300, "--min-ms")
    const maxMs = numberOption(cli.string("max-ms"), 3000, "--max-ms")
    if (maxMs < minMs) throw new UsageError("--max-ms must not be below --min-ms")
    try {
        const f = await powercut(kills, seed, minMs, maxMs, s => process.stderr.write("powercut: " + s + "\n"))
        console.log(
            cli.boolean("json")
                ? JSON.stringify(f)
                : `powercut: ${f.kills} kills, ${f.blocks} blocks, ${f.readings} readings in the chain, ${f.readingsLost} readings lost, at most ${f.maxLostPerKill} per kill, ${f.gapRecords} gap records: PASS`
        )
        return 0
    } catch (e) {
        console.log("powercut: FAIL: " + (e as Error).message + ` (replay with --seed ${seed} --kills ${kills})`)
        return 1
    }
}
