/**
 * Signed checkpoints (docs/SIGNING.md): what one costs the device, and what the default cadence
 * costs the chain in bytes.
 *
 * - signMsPerCheckpoint (in the device section, which runs the simulator: measureSigningOnDevice):
 *   VM ms to derive the next key pair and sign one checkpoint-sized message in the simulator,
 *   yielding between steps as the firmware does (test/harness/signing-device.ts; the mean of its
 *   checkpoints). The VM clock advances across yields, so it grows with the host's load.
 * - samplerJitterMsWhileSigning (device section): worst lateness of the firmware's 1 s sampler while signing.
 * - opsPerCheckpoint: the units one checkpoint runs, each at its op cost measured with the op
 *   meter (test/harness/sign-device.ts; the unit table in docs/SIGNING.md).
 * - bytesPerReadingSigned: the Seattle hourly normals sealed as the compactness section seals
 *   them, plus a signed checkpoint at the hardware default cadence (FL_SIGN_EVERY blocks or
 *   FL_SIGN_HOURS hours of readings, whichever first), every byte counted; beside
 *   bytesPerReading of the same run without checkpoints.
 */
import { newChainHead } from "../../src/lib/ledger/chain"
import { FL_SIGN_EVERY, FL_SIGN_HOURS } from "../../src/lib/config/settings"
import { Ledger } from "../../src/lib/ledger/ledger"
import { signedCheckpointMessage } from "../../src/lib/ledger/signedcheckpoint"
import { verifyChain } from "../../src/lib/ledger/verify"
import { nobleCrypto } from "../lib/crypto"
import { cleanLine } from "../lib/devicelog"
import { runDevs } from "../lib/devs"
import { nextSigningSeed, publicKeyOf, signWithSeed, verifyEd25519 } from "../lib/ed25519"
import { loadSeattle, SEATTLE_CHANNELS, SEATTLE_INTERVAL_MS } from "./seattle"
import type { BenchSection } from "./section"

const PROGRAM = "test/harness/signing-device.ts"
const DEVICE_ID = Buffer.from("12abdd2289421234", "hex")
const KEY0 = Buffer.alloc(32, 0x42)
const SEED0 = Buffer.alloc(32, 0x17)

/** Op costs of the signer's units, metered (docs/SIGNING.md "Units of work"), and how many a checkpoint runs. */
const UNITS: [string, number, number][] = [
    ["table addition", 25676, 128],
    ["doubling", 27877, 24],
    ["inversion squaring", 3326, 2 * 254],
    ["inversion multiplication", 3362, 2 * 11],
    ["encoding: 2 feMul + 3 feToBytes", 2 * 3362 + 3 * 5380, 2],
    ["SHA-512 block", 43284, 6],
    ["reduce mod L", 14183, 2],
    ["multiply-add mod L", 23475, 1],
]

/** The Seattle chain with signed checkpoints at the hardware default cadence: its bytes, readings and checkpoints. */
export function sealSeattleSigned(
    signEvery: number,
    signHours: number
): { bytes: number; unsignedBytes: number; readings: number; checkpoints: number } {
    const rows = loadSeattle()
    const run = (signed: boolean) => {
        const ledger = new Ledger(nobleCrypto, DEVICE_ID, SEATTLE_CHANNELS, newChainHead(Buffer.from(KEY0)), {
            intervalMs: SEATTLE_INTERVAL_MS,
            maxBlockAgeMs: 2 ** 53 - 1,
        })
        const blocks = [ledger.sealGenesis({ boot: 0, uptimeMs: 0, unixTime: rows[0].unixTime }, "fieldledger/bench", "bench").bytes]
        let seed: Buffer = SEED0
        let keyIndex = 0
        let since = 0
        let lastAt = 0
        const sign = () => {
            const next = nextSigningSeed(seed)
            const cp = { keyIndex, nextPublicKey: publicKeyOf(next), signature: undefined as Buffer | undefined }
            const at = ledger.signedCheckpointContent(cp)!
            cp.signature = signWithSeed(seed, signedCheckpointMessage(DEVICE_ID, at.link, at.content))
            blocks.push(ledger.sealSignedCheckpoint(cp, at.time, at.seq)!.bytes)
            seed = next
            keyIndex++
            since = 0
            lastAt = at.time.uptimeMs
        }
        rows.forEach((row, i) => {
            const uptimeMs = i * SEATTLE_INTERVAL_MS
            for (const b of ledger.append(row.values, { boot: 0, uptimeMs, unixTime: rows[0].unixTime + uptimeMs / 1000 })) {
                blocks.push(b.bytes)
                since++
                if (signed && (since >= signEvery || uptimeMs - lastAt >= signHours * 3600000)) sign()
            }
        })
        const last = ledger.sealOpen()
        if (last) blocks.push(last.bytes)
        const report = verifyChain(nobleCrypto, blocks, {
            deviceId: DEVICE_ID,
            key0: KEY0,
            publicKey0: publicKeyOf(SEED0),
            verifySignature: verifyEd25519,
        })
        if (!report.ok || report.summary.readings !== rows.length)
            throw new Error("the signed benchmark chain does not verify: " + JSON.stringify(report.failure))
        return { bytes: blocks.reduce((n, b) => n + b.length, 0), checkpoints: keyIndex }
    }
    const signed = run(true)
    return { bytes: signed.bytes, unsignedBytes: run(false).bytes, readings: rows.length, checkpoints: signed.checkpoints }
}

/** The simulator's figures: signMsPerCheckpoint, samplerJitterMsWhileSigning (for the device section). */
export async function measureSigningOnDevice(): Promise<{ figures: Record<string, number>; lines: string[] }> {
    const run = await runDevs(["run", PROGRAM, "--test", "--test-self-exit", "-T", "300000"], { timeoutMs: 300000 })
    const lines = run.output.split("\n").map(cleanLine)
    const ms = lines.map(l => /fl:bench sign ms=(\d+) steps=(\d+)/.exec(l)).filter(m => m) as RegExpExecArray[]
    const jitter = lines.map(l => /fl:bench jitter idle=(\d+) signing=(\d+)/.exec(l)).find(m => m)
    if (run.code !== 0 || ms.length === 0 || !jitter) throw new Error("signing harness failed:\n" + run.output.slice(-2000))
    const perCheckpoint = ms.reduce((n, m) => n + Number(m[1]), 0) / ms.length
    return {
        figures: { signMsPerCheckpoint: perCheckpoint, samplerJitterMsWhileSigning: Number(jitter[2]) },
        lines: [
            `signed checkpoints, ${ms.length} (next key pair + a signature over a checkpoint's 123-byte message), a yield between steps:`,
            `  VM ms per checkpoint: mean ${perCheckpoint.toFixed(0)} (${ms.map(m => m[1]).join(", ")}); ${ms[0][2]} steps each; goal <= 1,500`,
            `  1 s sampler: worst lateness ${jitter[2]} ms while signing (${jitter[1]} ms idle); goal <= 50`,
        ],
    }
}

export const signing: BenchSection = {
    name: "signing",
    description:
        "signed checkpoints: ops per checkpoint, bytes per reading at the default cadence (VM ms and the sampler's lateness: device section)",
    async run() {
        const every = FL_SIGN_EVERY.hardware as number
        const hours = FL_SIGN_HOURS.hardware as number
        const seattle = sealSeattleSigned(every, hours)
        const ops = UNITS.reduce((n, [, cost, count]) => n + cost * count, 0)
        const perReading = seattle.unsignedBytes / seattle.readings
        const perReadingSigned = seattle.bytes / seattle.readings
        const figures = {
            opsPerCheckpoint: ops,
            bytesPerReadingSigned: perReadingSigned,
        }
        return {
            figures,
            lines: [
                `ops per checkpoint (metered units): ${(ops / 1e6).toFixed(2)} M: ${UNITS.map(([n, c, k]) => `${k} x ${n} ${c}`).join(", ")}`,
                `Seattle hourly normals, ${seattle.readings} readings, a signed checkpoint every ${every} blocks or ${hours} h (${seattle.checkpoints} checkpoints):`,
                `  ${perReadingSigned.toFixed(3)} B/reading signed vs ${perReading.toFixed(3)} unsigned: ${(perReadingSigned / perReading).toFixed(3)}x (goal <= 1.10x)`,
            ],
        }
    },
}
