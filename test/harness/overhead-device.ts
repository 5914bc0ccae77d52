/**
 * The device program of the device-overhead benchmark (tools/bench/deviceoverhead.ts). In one
 * VM, in alternating rounds over the same simulated sensors: a baseline phase that only reads
 * them N times, a ledger phase that reads them N times and appends each reading to a ledger
 * (encode, append, seal with hash link and HMAC whenever a block is full), the same with the
 * readings encrypted (a data key in the head: provision --encrypt), and a seal phase
 * that seals M one-reading blocks. Every loop yields once per reading (`ds.sleep(0)`), the same
 * in each phase. The VM has no wall clock, so the host times the phases from the
 * `fl:bench` lines. Run as a test (`devs run --test --test-self-exit`): no sockets.
 */
import * as ds from "@devicescript/core"
import { describe, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { newChainHead } from "../../src/lib/ledger/chain"
import { Ledger } from "../../src/lib/ledger/ledger"
import { ChannelHealth } from "../../src/lib/sensors/sensorkinds"
import { sampleChannels, waitForSensors } from "../../src/sensing/sensors"
import { startSimulatedSensors } from "../../src/sensing/simsensors"

const READINGS = 1000
const SEALS = 100
const ROUNDS = 2
// Readings one second apart and a block at least every 60 s: 60 readings a block, as the
// hardware default (one a minute, a block an hour). A block of 255 readings takes more than a
// fiber's op budget to encode in one go (InfiniteLoop panic), so the age limit matters.
const BLOCK_AGE_MS = 60000

const sources = startSimulatedSensors(3)
// The loops sample far faster than the servers stream (500 ms), so every read repeats the
// cached sample: stuck detection is off here, the same for both phases.
for (const s of sources) s.health = new ChannelHealth({ spec: s.spec, stuckAfter: 0 })
const deviceId = Buffer.from("12abdd2289421234", "hex")
const specs = sources.map(s => s.spec)

/** `encrypted`: a data key in the head, as after provision --encrypt (one AES call and one more HMAC per block). */
function newLedger(encrypted = false): Ledger {
    const key = Buffer.alloc(32)
    for (let i = 0; i < 32; i++) key[i] = i
    const head = newChainHead(key)
    if (encrypted) head.dataKey = hex`d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0`
    const ledger = new Ledger(deviceCrypto, deviceId, specs, head, { intervalMs: 1000, maxBlockAgeMs: BLOCK_AGE_MS })
    ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "bench", "simulator")
    return ledger
}

async function baseline() {
    for (let i = 0; i < READINGS; i++) {
        await sampleChannels(sources)
        await ds.sleep(0)
    }
}

async function withLedger(encrypted = false): Promise<number> {
    const ledger = newLedger(encrypted)
    let sealed = 0
    for (let i = 0; i < READINGS; i++) {
        const time = { boot: 0, uptimeMs: i * 1000 }
        if (ledger.tick(time)) sealed++
        const reading = await sampleChannels(sources)
        sealed += ledger.append(reading, time).length
        await ds.sleep(0)
    }
    return sealed
}

async function seals() {
    const ledger = newLedger()
    const reading = await sampleChannels(sources)
    for (let i = 0; i < SEALS; i++) {
        ledger.append(reading, { boot: 0, uptimeMs: i * 1000 })
        ledger.sealOpen()
        await ds.sleep(0)
    }
}

describe("device overhead", () => {
    test("phases", async () => {
        if (!(await waitForSensors(sources, 10000))) console.log("fl:bench error sensors not ready")
        console.log("fl:bench config readings=" + READINGS + " seals=" + SEALS + " rounds=" + ROUNDS)
        for (let r = 0; r < ROUNDS; r++) {
            let t0 = ds.millis()
            console.log("fl:bench start baseline")
            await baseline()
            console.log("fl:bench end baseline ms=" + (ds.millis() - t0))
            t0 = ds.millis()
            console.log("fl:bench start ledger")
            const blocks = await withLedger()
            console.log("fl:bench end ledger ms=" + (ds.millis() - t0) + " blocks=" + blocks)
            t0 = ds.millis()
            console.log("fl:bench start ledgerenc")
            const encryptedBlocks = await withLedger(true)
            console.log("fl:bench end ledgerenc ms=" + (ds.millis() - t0) + " blocks=" + encryptedBlocks)
            t0 = ds.millis()
            console.log("fl:bench start seal")
            await seals()
            console.log("fl:bench end seal ms=" + (ds.millis() - t0))
        }
        console.log("fl:bench done")
    })
})
