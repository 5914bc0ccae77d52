/**
 * Op meter for the ledger's hot paths (development aid, run by hand): prepares a worst-case
 * open block with a sleep per reading, then in one fiber run does WORK and counts how many
 * iterations of a calibration loop are left before the op budget runs out (InfiniteLoop,
 * on purpose). ops(WORK) = (iterations with no work - iterations left) * ops per iteration.
 * Edit the constants, then: devs run test/harness/opcost-device.ts --test --test-self-exit
 */
import * as ds from "@devicescript/core"
import { describe, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { decodeBlock, decodeBlockSummary, decodeContent, newChainHead } from "../../src/lib/ledger/chain"
import { Ledger } from "../../src/lib/ledger/ledger"
import { MISSING, Reading } from "../../src/lib/codec/readings"
import { meterOpsLeft } from "./opmeter"

const WORK: string = "none"
const CHANNELS: number = 8
const WIDTH: number = 0
const WITH_MISSING: boolean = false
const READINGS: number = 254

const deviceId = Buffer.from("12abdd2289421234", "hex")

function source(): (i: number) => Reading {
    const present: number[] = []
    for (let c = 0; c < CHANNELS; c++) present.push(0)
    const step = WIDTH === 0 ? 0 : 1 << (WIDTH - 1)
    return (i: number) => {
        const r: Reading = []
        for (let c = 0; c < CHANNELS; c++) {
            if (WITH_MISSING && (i * CHANNELS + c) % 7 === 3) r.push(MISSING)
            else {
                r.push(1000 * (c + 1) - present[c] * step)
                present[c]++
            }
        }
        return r
    }
}

function newLedger(): Ledger {
    const specs = []
    for (let c = 0; c < CHANNELS; c++) specs.push({ name: "c" + c, unit: "u", exponent: 0 })
    const ledger = new Ledger(deviceCrypto, deviceId, specs, newChainHead(Buffer.alloc(32)), { intervalMs: 10000 })
    ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "t", "s")
    return ledger
}

describe("op cost", () => {
    test("work then meter", async () => {
        const next = source()
        const ledger = newLedger()
        for (let i = 0; i < READINGS; i++) {
            ledger.append(next(i), { boot: 0, uptimeMs: 1000 + i * 10000 })
            await ds.sleep(0)
        }
        const content = ledger.openContent()
        await ds.sleep(0)
        const decoded = decodeContent(content)
        await ds.sleep(0)
        const extra: Reading[] = []
        for (let i = 0; i < 50; i++) extra.push(next(READINGS + i))
        const fresh = newLedger()
        // A sealed copy of the open block, for the decoders the chain store runs on stored blocks.
        const sealedBytes = WORK === "decodeBlock" || WORK === "decodeBlockSummary" ? newLedger().sealCheckpoint(decoded).bytes : undefined
        await ds.sleep(0)
        console.log(
            "fl:opcost " +
                WORK +
                " ch=" +
                CHANNELS +
                " width=" +
                WIDTH +
                " missing=" +
                WITH_MISSING +
                " n=" +
                READINGS +
                " bytes=" +
                content.length
        )
        await ds.sleep(0)
        if (WORK === "openContent") ledger.openContent()
        else if (WORK === "decodeContent") decodeContent(content)
        else if (WORK === "sealOpen") ledger.sealOpen()
        // ChainStore.getBlock before and after it decoded only the header (one stored block).
        else if (WORK === "decodeBlock") decodeBlock(sealedBytes)
        else if (WORK === "decodeBlockSummary") decodeBlockSummary(sealedBytes)
        // The boot's seal of a checkpointed open block (recovery.ts), as flash holds it.
        else if (WORK === "sealCheckpoint") fresh.sealCheckpoint(decoded)
        else if (WORK === "append10") {
            // ten appends on a block that stays open (no seal: a 255th reading would seal)
            for (let i = 0; i < 10; i++) ledger.append(extra[i], { boot: 0, uptimeMs: 1000 + (READINGS + i) * 10000 })
        } else if (WORK === "append50") {
            // fifty appends on a block that stays open: start from a small READINGS, and a
            // layout whose block of READINGS + 50 readings fits 200 bytes (e.g. 3 channels, width 4)
            for (let i = 0; i < 50; i++) ledger.append(extra[i], { boot: 0, uptimeMs: 1000 + (READINGS + i) * 10000 })
        } else if (WORK === "tick50") {
            for (let i = 0; i < 50; i++) ledger.tick({ boot: 0, uptimeMs: 1000 + (READINGS + i) * 10000 })
        }
        meterOpsLeft()
    })
})
