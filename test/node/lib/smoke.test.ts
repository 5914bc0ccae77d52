import { describe, expect, test } from "vitest"
import { newChainHead, decodeBlock } from "../../../src/lib/chain"
import { Ledger } from "../../../src/lib/ledger"
import { verifyChain } from "../../../src/lib/verify"
import { nobleCrypto } from "../../../tools/lib/crypto"

describe("smoke", () => {
    test("seals and verifies", () => {
        const key0 = Buffer.alloc(32, 7)
        const deviceId = Buffer.from("12abdd2289421234", "hex")
        const ledger = new Ledger(nobleCrypto, deviceId, [{ name: "t", unit: "degC", exponent: -1 }], newChainHead(Buffer.from(key0)), { intervalMs: 1000 })
        const blocks = [ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "fw", "sim")]
        for (let i = 0; i < 500; i++) blocks.push(...ledger.append([200 + (i % 7)], { boot: 0, uptimeMs: i * 1000 }))
        const last = ledger.sealOpen()
        if (last) blocks.push(last)
        const report = verifyChain(nobleCrypto, blocks.map(b => b.bytes), { deviceId, key0 })
        expect(report.ok).toBe(true)
        expect(report.summary.readings).toBe(500)
        console.log(blocks.length, blocks.map(b => b.bytes.length).join(","), decodeBlock(blocks[1].bytes).readings!.slice(0, 3))
    })
})
