/**
 * Time meter for the device (development aid, run by hand): what one call of each piece of
 * the ledger, and of a few runtime primitives, takes in the simulator. The VM's clock only
 * advances across awaits, so each piece runs K times with a `ds.sleep(0)` after each, and
 * the `none` line (the sleep alone) is the floor to subtract. Complements the op meter
 * (opcost-device.ts): the op budget is about ops, time mostly about allocations and calls
 * (see the cost notes in src/lib/codec/bytes.ts).
 * Run: devs run test/harness/timing-device.ts --test --test-self-exit -T 120000
 */
import * as ds from "@devicescript/core"
import { describe, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { ByteWriter, copyBytes, wipe } from "../../src/lib/codec/bytes"
import { encodeContent, newChainHead, sealBlock } from "../../src/lib/ledger/chain"
import { BlockHeader, headerSize, RECORD_DATA, writeHeader } from "../../src/lib/codec/format"
import { blockTag, evolveKey } from "../../src/lib/ledger/keys"
import { Ledger } from "../../src/lib/ledger/ledger"
import { ReadingsBuilder } from "../../src/lib/codec/readings"

const K = 200
const READINGS = 60
const deviceId = Buffer.from("12abdd2289421234", "hex")
const specs = [
    { name: "a", unit: "u", exponent: 0 },
    { name: "b", unit: "u", exponent: 0 },
    { name: "c", unit: "u", exponent: 0 },
]

async function phase(name: string, work: (i: number) => void) {
    const t0 = ds.millis()
    for (let i = 0; i < K; i++) {
        work(i)
        await ds.sleep(0)
    }
    console.log("fl:time " + name + " us=" + Math.round(((ds.millis() - t0) * 1000) / K))
}

function f(a: number): number {
    return a
}

async function primitives() {
    const buf = Buffer.alloc(200)
    const small = Buffer.alloc(32)
    await phase("none", i => {})
    await phase("100 simple loop iterations", i => {
        let x = 0
        for (let j = 0; j < 100; j++) x += j
    })
    await phase("100 calls", i => {
        let x = 0
        for (let j = 0; j < 100; j++) x += f(j)
    })
    await phase("100 Buffer.alloc(32)", i => {
        for (let j = 0; j < 100; j++) Buffer.alloc(32)
    })
    await phase("100 set of 32 bytes", i => {
        for (let j = 0; j < 100; j++) buf.set(small, 10)
    })
    await phase("100 pushes", i => {
        const a: number[] = []
        for (let j = 0; j < 100; j++) a.push(j)
    })
}

async function ledgerPieces() {
    const key = Buffer.alloc(32)
    const b = new ReadingsBuilder(3)
    for (let i = 0; i < READINGS; i++) b.add([1000 + (i & 7), 2000 - (i & 3), 3000])
    const head = newChainHead(Buffer.alloc(32))
    head.seq = 1
    const time = { boot: 0, uptimeMs: 0 }
    const content = { type: RECORD_DATA, time, intervalMs: 1000, readings: b }
    const encoded = encodeContent(head, content)
    const header: BlockHeader = {
        version: 1,
        type: RECORD_DATA,
        flags: 0,
        seq: 1,
        link: head.link,
        time,
        intervalMs: 1000,
        readingCount: READINGS,
    }
    await phase("hmacSha256", i => deviceCrypto.hmacSha256(key, encoded))
    await phase("sha256", i => deviceCrypto.sha256(encoded))
    await phase("writeHeader", i => writeHeader(new ByteWriter(200), header))
    await phase("encode " + READINGS + "-reading body", i => b.encode(new ByteWriter(200)))
    await phase("encodeContent", i => encodeContent(head, content))
    await phase("blockTag", i => blockTag(deviceCrypto, key, deviceId, encoded))
    await phase("evolveKey", i => evolveKey(deviceCrypto, key, deviceId, 5))
    await phase("wipe(32)", i => wipe(key))
    await phase("copyBytes of the content", i => copyBytes(encoded, 0, encoded.length))
    await phase("new ReadingsBuilder(3)", i => new ReadingsBuilder(3))
    await phase("headerSize", i => headerSize(1, time, 1000, 0))
    await phase("sealBlock", i => sealBlock(deviceCrypto, deviceId, { seq: 1, link: head.link, key: Buffer.alloc(32) }, content))
}

async function ledgerCalls() {
    const reading = [1000, 2000, 3000]
    const ledger = new Ledger(deviceCrypto, deviceId, specs, newChainHead(Buffer.alloc(32)), { intervalMs: 1000 })
    ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "b", "s")
    await phase("append + sealOpen (1-reading block)", i => {
        ledger.append(reading, { boot: 0, uptimeMs: i * 1000 })
        ledger.sealOpen()
    })
    await phase("tick + append (no seal)", i => {
        const time = { boot: 1, uptimeMs: i * 1000 }
        ledger.tick(time)
        ledger.append(reading, time)
    })
}

describe("time meter", () => {
    test("pieces", async () => {
        await primitives()
        await ledgerPieces()
        await ledgerCalls()
    })
})
