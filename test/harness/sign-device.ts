/**
 * Measurement harness of the bytecode Ed25519 signer (src/lib/sign; docs/SIGNING.md), run by hand.
 *
 * MODE "time" (the default): in the simulator, per checkpoint (derive the next key pair from a
 * seed, then sign a 100-byte message with the current one, yielding after every step): VM ms,
 * steps, the longest step; then the time of each unit of work (K runs, a yield after each,
 * minus the yield alone), and the design point that was not kept (a loop-based multiply).
 *     devs run test/harness/sign-device.ts --test --test-self-exit -T 120000
 *
 * MODE "checkpoints": only the checkpoints, CHECKPOINTS of them (for CPU time: run it with
 * CHECKPOINTS = 0 and 20 under `/usr/bin/time`; the difference / 20 is the simulator's CPU time
 * per checkpoint, which unlike VM ms does not grow when other processes load the machine).
 *
 * MODE "jobStep": the exact ops of a whole checkpoint, metered step by step: JOB ("key":
 * publicKeyOf, "sign": signWith) runs with steps of JOB_STEP_OPS (about 25 steps in all, each
 * leaving room for the meter), and step STEP_INDEX is metered (in the pause after it);
 * "fl:stepdone true" marks a job's last step. Sum over all the steps.
 *
 * MODE "<unit>" (op meter, as test/harness/opcost-device.ts): does REPEAT units of work in one
 * fiber run, then counts the iterations of a calibration loop left before the op budget runs out
 * (InfiniteLoop, on purpose; the last "fl:meter" line counts). With n0 the count of MODE "none",
 * ops(unit) = (n0 - n) * (131071 / n0) / REPEAT. Units: none, sha512Step, madd, sqr10 (once), double, sqr, mul,
 * mulLoop, encode, reduce, muladd. docs/SIGNING.md has the loop that runs them all.
 */
import * as ds from "@devicescript/core"
import { describe, test } from "@devicescript/test"
import { BASE_TABLE_BYTES, BASE_TABLE_SPACING } from "../../src/lib/sign/basetable"
import { publicKeyOf, signWith, STEP_OPS } from "../../src/lib/sign/ed25519"
import { BaseMultiplier } from "../../src/lib/sign/edwards"
import { Fe, feFromBytes, feNew, feToBytes } from "../../src/lib/sign/field"
import { feMul, feSqrTimes } from "../../src/lib/sign/fieldmul"
import { mulAddModL, reduceModL } from "../../src/lib/sign/scalar"
import { Sha512Job } from "../../src/lib/sign/sha512"
import { meterOpsLeft } from "./opmeter"

const MODE: string = "time"
const REPEAT: number = 4
/** MODE "jobStep": meters step STEP_INDEX of JOB ("key" or "sign") run with a budget of JOB_STEP_OPS. */
const JOB: string = "key"
const STEP_INDEX: number = 0
const JOB_STEP_OPS = 105000
const CHECKPOINTS: number = 5
const K = 40

/** The design point not kept: TweetNaCl-style multiply, loops over arrays and a 31-limb product. */
const product: number[] = []
for (let i = 0; i < 31; i++) product.push(0)
function mulLoop(o: Fe, a: Fe, b: Fe) {
    for (let i = 0; i < 31; i++) product[i] = 0
    for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) product[i + j] += a[i] * b[j]
    for (let i = 0; i < 15; i++) product[i] += 38 * product[i + 16]
    for (let i = 0; i < 16; i++) o[i] = product[i]
    for (let r = 0; r < 2; r++) {
        for (let i = 0; i < 16; i++) {
            const c = Math.floor(o[i] / 65536)
            o[i] -= c * 65536
            if (i < 15) o[i + 1] += c
            else o[0] += 38 * c
        }
    }
}

function seedOf(n: number): Buffer {
    const seed = Buffer.alloc(32)
    for (let i = 0; i < 32; i++) seed[i] = (i * 29 + n * 7 + 1) & 255
    return seed
}

function filled(length: number, byte: number): Buffer {
    const b = Buffer.alloc(length)
    for (let i = 0; i < length; i++) b[i] = (byte + i) & 255
    return b
}

/** What the units are timed and metered on: two field elements, an output one, a SHA-512 input and a 64-byte hash. */
function unitOperands() {
    const a = feNew()
    const b = feNew()
    feFromBytes(a, seedOf(1), 0)
    feFromBytes(b, seedOf(2), 0)
    return { a, b, o: feNew(), block: filled(111, 9), hash: filled(64, 1) }
}

/**
 * A pause (a yield) that counts the steps into `tally` and keeps the longest step in VM ms, a
 * step and the yield before it (the VM clock moves only across a suspension).
 */
function timedPause(tally: { steps: number; longest: number; at: number }) {
    return async () => {
        const now = ds.millis()
        if (tally.at >= 0 && now - tally.at > tally.longest) tally.longest = now - tally.at
        tally.steps++
        tally.at = now
        await ds.sleep(0)
    }
}

async function timeCheckpoints() {
    const message = filled(100, 3)
    let seed = seedOf(0)
    const yieldOnly = async () => await ds.sleep(0)
    let publicKey = await publicKeyOf(seed, yieldOnly)
    let total = 0
    let fastest = 1e9
    const tally = { steps: 0, longest: 0, at: -1 }
    const pause = timedPause(tally)
    for (let c = 0; c < CHECKPOINTS; c++) {
        await ds.sleep(0)
        const nextSeed = seedOf(c + 1)
        const t0 = ds.millis()
        tally.at = -1
        const nextKey = await publicKeyOf(nextSeed, pause)
        const signature = await signWith(seed, publicKey, message, pause)
        const ms = ds.millis() - t0
        total += ms
        if (ms < fastest) fastest = ms
        console.log("fl:sig " + signature.toString("hex"))
        seed = nextSeed
        publicKey = nextKey
    }
    console.log("fl:sign table=" + BASE_TABLE_BYTES + " spacing=" + BASE_TABLE_SPACING + " stepOps=" + STEP_OPS)
    if (CHECKPOINTS === 0) return
    console.log(
        "fl:sign signMsPerCheckpoint=" +
            Math.round(total / CHECKPOINTS) +
            " fastest=" +
            fastest +
            " stepsPerCheckpoint=" +
            tally.steps / CHECKPOINTS +
            " maxStepMs=" +
            tally.longest
    )
}

async function phase(name: string, work: () => void) {
    const t0 = ds.millis()
    for (let i = 0; i < K; i++) {
        work()
        await ds.sleep(0)
    }
    console.log("fl:time " + name + " us=" + Math.round(((ds.millis() - t0) * 1000) / K))
}

async function timeUnits() {
    const { a, b, o, block, hash } = unitOperands()
    const m = new BaseMultiplier()
    await phase("none", () => {})
    await phase("feMul x10", () => {
        for (let i = 0; i < 10; i++) feMul(o, a, b)
    })
    await phase("feSqr x10", () => {
        for (let i = 0; i < 10; i++) feSqrTimes(o, a, 1)
    })
    await phase("feSqrTimes(o, a, 10)", () => {
        feSqrTimes(o, a, 10)
    })
    await phase("mulLoop x10 (design point not kept)", () => {
        for (let i = 0; i < 10; i++) mulLoop(o, a, b)
    })
    await phase("sha512 block (4 steps)", () => {
        const job = new Sha512Job(block)
        while (!job.step()) {}
    })
    await phase("reduceModL(64 bytes)", () => {
        reduceModL(hash, 0, 64)
    })
    await phase("mulAddModL", () => {
        mulAddModL(seedOf(4), seedOf(5), seedOf(6))
    })
    await phase("table addition", () => {
        m.addDigit(3, 5)
    })
}

async function meterJobStep() {
    let pauses = 0
    // The first pause comes before any work; pause STEP_INDEX + 2 follows step STEP_INDEX.
    const pause = async () => {
        pauses++
        if (pauses === STEP_INDEX + 2) {
            console.log("fl:stepdone false")
            meterOpsLeft()
        }
        if (pauses === STEP_INDEX + 1) console.log("fl:opcost jobStep " + JOB + " " + STEP_INDEX)
        await ds.sleep(0)
    }
    if (JOB === "key") await publicKeyOf(seedOf(7), pause, JOB_STEP_OPS)
    else
        await signWith(
            seedOf(0),
            Buffer.from("4d1b9f2bb7b9f1c3a1a6a0ec5b0e7c5f1e1d0a2c8a0b1f8f5a6c8f6a2b1c0d9e", "hex"),
            filled(100, 3),
            pause,
            JOB_STEP_OPS
        )
    // The job ended in step STEP_INDEX: meter it now (same fiber run as its last units).
    console.log("fl:stepdone true")
    meterOpsLeft()
}

async function meter() {
    const { a, b, o, block, hash } = unitOperands()
    const shaJobs: Sha512Job[] = []
    for (let i = 0; i < REPEAT; i++) shaJobs.push(new Sha512Job(block))
    await ds.sleep(0)
    const m = new BaseMultiplier()
    const out = Buffer.alloc(32)
    await ds.sleep(0)
    console.log("fl:opcost " + MODE + " repeat=" + REPEAT)
    await ds.sleep(0)
    for (let r = 0; r < REPEAT; r++) {
        if (MODE === "sha512Step")
            shaJobs[r].step() // the first 20 rounds of a block, with its loading
        else if (MODE === "madd") m.addDigit(r, 5)
        else if (MODE === "double") m.double()
        else if (MODE === "sqr") feSqrTimes(o, a, 1)
        else if (MODE === "sqr10" && r === 0) feSqrTimes(o, a, 10)
        else if (MODE === "mul") feMul(o, a, b)
        else if (MODE === "mulLoop") mulLoop(o, a, b)
        else if (MODE === "encode") feToBytes(out, 0, a)
        else if (MODE === "reduce") reduceModL(hash, 0, 64)
        else if (MODE === "muladd") mulAddModL(seedOf(4), seedOf(5), seedOf(6))
    }
    meterOpsLeft()
}

describe("sign harness", () => {
    test(MODE, async () => {
        if (MODE === "time") {
            await timeCheckpoints()
            await timeUnits()
        } else if (MODE === "checkpoints") await timeCheckpoints()
        else if (MODE === "jobStep") await meterJobStep()
        else await meter()
    })
})
