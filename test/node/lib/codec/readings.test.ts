/**
 * The readings codec and the byte primitives under property tests (fast-check): random
 * readings across the whole int32 range, with missing values, round trip exactly, the size
 * the ledger predicts is the size it writes, and no block outgrows a settings value.
 */
import fc from "fast-check"
import { describe, expect, test } from "vitest"
import { BitReader, BitWriter } from "../../../../src/lib/codec/bitpack"
import { ByteReader, ByteWriter, FormatError, fromHex, mod, unzigzag, zigzag } from "../../../../src/lib/codec/bytes"
import { decodeBlock, decodeContent, encodeContent, newChainHead, sealBlock } from "../../../../src/lib/ledger/chain"
import {
    headerSize,
    MAX_BLOCK_BYTES,
    MAX_READING,
    MIN_READING,
    RECORD_DATA,
    RECORD_GAP,
    RECORD_GENESIS,
} from "../../../../src/lib/codec/format"
import { toFixedPoint } from "../../../../src/lib/codec/fixedpoint"
import { largestSingleReadingBlock, Ledger } from "../../../../src/lib/ledger/ledger"
import { checkReading, chooseCoding, codingBits, MISSING, Reading, ReadingsBuilder, RICE } from "../../../../src/lib/codec/readings"
import { nodeCrypto } from "../../../../tools/lib/crypto"
import { DEVICE_ID, testKey } from "../../helpers/chains"

const value = fc.oneof(
    fc.integer({ min: MIN_READING, max: MAX_READING }),
    fc.integer({ min: -50, max: 50 }),
    fc.constantFrom(MIN_READING, MAX_READING, 0, -1)
)
const channelValue = fc.oneof({ weight: 9, arbitrary: value }, { weight: 1, arbitrary: fc.constant(MISSING) })
const readingsOf = (channels: number) =>
    fc.array(fc.array(channelValue, { minLength: channels, maxLength: channels }), { minLength: 1, maxLength: 40 })
const layout = fc.integer({ min: 1, max: 8 }).chain(c => fc.tuple(fc.constant(c), readingsOf(c)))

describe("byte primitives", () => {
    test.each([0, 1, 127, 128, 300, 2 ** 31, 2 ** 32, 2 ** 53 - 1])("round-trips the varint %i", v => {
        const bytes = new ByteWriter().varint(v).finish()
        expect(new ByteReader(bytes, "t").varint("v")).toBe(v)
    })

    test.each([
        ["non-canonical", "8000"],
        ["too long", "ffffffffffffffff7f"],
        ["truncated", "80"],
        ["over 2^53 - 1", "ffffffffffffff7f"],
    ])("rejects a %s varint", (_name, hex) => {
        expect(() => new ByteReader(Buffer.from(hex, "hex"), "t").varint("v")).toThrow(FormatError)
    })

    test("zigzag is its own inverse across the int32 difference range", () => {
        fc.assert(fc.property(fc.integer({ min: -(2 ** 32 - 1), max: 2 ** 32 - 1 }), v => unzigzag(zigzag(v)) === v))
        expect(zigzag(-(2 ** 31))).toBe(2 ** 32 - 1)
    })

    test("mod matches the mathematical modulo beyond 32 bits", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 0, max: 2 ** 53 - 1 }),
                fc.integer({ min: 1, max: 2 ** 31 }),
                (a, b) => mod(a, b) === Number(BigInt(a) % BigInt(b))
            )
        )
    })

    test("bit packing round-trips values of every width up to 53 bits", () => {
        fc.assert(
            fc.property(
                fc.array(
                    fc
                        .integer({ min: 0, max: 53 })
                        .chain(w => fc.tuple(fc.constant(w), fc.bigInt({ min: 0n, max: (1n << BigInt(w)) - 1n }))),
                    { maxLength: 30 }
                ),
                items => {
                    const w = new BitWriter()
                    for (const [width, v] of items) w.write(Number(v), width)
                    const buf = w.finish()
                    const r = new BitReader(buf, 0, buf.length, "t")
                    for (const [width, v] of items) expect(r.read(width)).toBe(Number(v))
                    r.finish()
                }
            )
        )
    })

    test("rejects non-zero padding bits", () => {
        const r = new BitReader(Buffer.from([0b10100001]), 0, 1, "t")
        expect(r.read(3)).toBe(0b101)
        expect(() => r.finish()).toThrow(FormatError)
    })

    test.each([
        ["odd length", "abc"],
        ["not hex", "zz"],
    ])("fromHex rejects %s", (_n, text) => {
        expect(() => fromHex(text, "t")).toThrow(FormatError)
    })

    test("rejects a string that is not valid UTF-8", () => {
        expect(() => new ByteReader(Buffer.from("02fffe", "hex"), "t").shortString(8, "s")).toThrow(FormatError)
    })
})

describe("readings codec", () => {
    test.each([1, 2])("predicts its encoded size exactly at every step (v%i)", version => {
        fc.assert(
            fc.property(layout, ([channels, readings]) => {
                const b = new ReadingsBuilder(channels, version)
                for (const r of readings) {
                    const predicted = b.bodySize(r)
                    b.add(r)
                    const w = new ByteWriter()
                    b.encode(w, version)
                    expect(w.size()).toBe(predicted)
                    expect(b.bodySize()).toBe(predicted)
                }
            }),
            { numRuns: 300 }
        )
    })

    test.each([1, 2])("round-trips random readings, extremes and missing values through a sealed block (v%i)", version => {
        fc.assert(
            fc.property(layout, ([channels, readings]) => {
                const b = new ReadingsBuilder(channels, version)
                for (const r of readings) b.add(r)
                const head = { ...newChainHead(testKey()), seq: 5 }
                const content = encodeContent(
                    head,
                    { type: RECORD_DATA, time: { boot: 1, uptimeMs: 5 }, intervalMs: 1000, readings: b },
                    version
                )
                if (content.length + 16 > MAX_BLOCK_BYTES) return
                const { block } = sealBlock(
                    nodeCrypto,
                    DEVICE_ID,
                    head,
                    { type: RECORD_DATA, time: { boot: 1, uptimeMs: 5 }, intervalMs: 1000, readings: b },
                    version
                )
                expect(block.bytes[0]).toBe(version)
                expect(decodeBlock(block.bytes).readings).toEqual(readings.map(r => r.map(v => (v === undefined ? null : v))))
            }),
            { numRuns: 300 }
        )
    })

    test("the ledger never seals a block over its size limit, whatever the readings", () => {
        fc.assert(
            fc.property(layout, fc.integer({ min: 0, max: 60 }), ([channels, readings], slack) => {
                const maxBlockBytes = Math.min(MAX_BLOCK_BYTES, largestSingleReadingBlock(channels) + slack)
                const specs = Array.from({ length: channels }, (_, i) => ({ name: "c" + i, unit: "u", exponent: 0 }))
                const ledger = new Ledger(nodeCrypto, DEVICE_ID, specs, newChainHead(testKey()), { intervalMs: 10, maxBlockBytes })
                const blocks = [ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "f", "b")]
                readings.forEach((r, i) => blocks.push(...ledger.append(r, { boot: 0, uptimeMs: i * 10 })))
                const last = ledger.sealOpen()
                if (last) blocks.push(last)
                for (const block of blocks.slice(1)) expect(block.bytes.length).toBeLessThanOrEqual(maxBlockBytes)
                const decoded = blocks.slice(1).flatMap(b => decodeBlock(b.bytes).readings!)
                expect(decoded.length).toBe(readings.length)
                expect(decoded).toEqual(readings.map(r => r.map(v => (v === undefined ? null : v))))
            }),
            { numRuns: 200 }
        )
    })

    test("rejects every truncation and any trailing byte of a valid block", () => {
        const b = new ReadingsBuilder(2)
        for (let i = 0; i < 20; i++) b.add([i * 1000, i % 3 === 0 ? MISSING : -i])
        const { block } = sealBlock(
            nodeCrypto,
            DEVICE_ID,
            { ...newChainHead(testKey()), seq: 1 },
            { type: RECORD_DATA, time: { boot: 0, uptimeMs: 0 }, intervalMs: 1, readings: b }
        )
        for (let n = 0; n < block.bytes.length; n++) expect(() => decodeBlock(block.bytes.subarray(0, n))).toThrow(FormatError)
        expect(() => decodeBlock(Buffer.concat([block.bytes, Buffer.from([0])]))).toThrow(FormatError)
    })

    test.each([
        ["a reading with the wrong channel count", [1, 2, 3]],
        ["a fractional value", [1.5, 2]],
        ["a value over int32", [2 ** 31, 0]],
    ])("refuses %s", (_name, reading) => {
        expect(() => new ReadingsBuilder(2).add(reading as Reading)).toThrow(RangeError)
    })

    test.each([
        ["2^31", 2 ** 31],
        ["-2^31 - 1", -(2 ** 31) - 1],
        ["1.5", 1.5],
        ["NaN", NaN],
        ["Infinity", Infinity],
        ["a numeric string", "7"],
        ["a boolean", true],
        ["an object", {}],
    ])("checkReading refuses %s and names the channel", (_name, value) => {
        expect(() => checkReading([0, value as number], 2)).toThrow(/^channel 1: /)
        expect(() => new ReadingsBuilder(2).add([0, value as number])).toThrow(/^channel 1: /)
    })

    test("checkReading takes the int32 extremes, null and undefined", () => {
        expect(() => checkReading([MIN_READING, MAX_READING, null, undefined as unknown as null], 4)).not.toThrow()
    })

    test("a reading that does not fit, or holds a bad value, leaves the block as it was", () => {
        fc.assert(
            fc.property(layout, fc.integer({ min: 4, max: 120 }), ([channels, readings], maxBytes) => {
                const b = new ReadingsBuilder(channels)
                const accepted: Reading[] = []
                const encoded = () => {
                    const w = new ByteWriter()
                    b.encode(w)
                    return w.finish()
                }
                for (const r of readings) {
                    const before = encoded()
                    // The same reading with its last value made invalid is refused first, after
                    // the values before it (which may widen a channel) went in.
                    const bad = [...r.slice(0, -1), 0.5]
                    expect(() => b.tryAdd(bad, maxBytes)).toThrow(RangeError)
                    expect(encoded().equals(before)).toBe(true)
                    if (b.tryAdd(r, maxBytes)) accepted.push(r)
                    else {
                        expect(encoded().equals(before)).toBe(true)
                        expect(b.bodySize()).toBe(before.length)
                    }
                    expect(b.count()).toBe(accepted.length)
                }
                const expected = accepted.map(r => r.map(v => (v === undefined ? null : v)))
                expect(b.readings()).toEqual(expected)
                if (accepted.length === 0) return
                const head = { ...newChainHead(testKey()), seq: 5 }
                const content = encodeContent(head, { type: RECORD_DATA, time: { boot: 1, uptimeMs: 5 }, intervalMs: 1000, readings: b })
                expect(decodeContent(content).readings).toEqual(expected)
            }),
            { numRuns: 300 }
        )
    })

    test("a cleared builder encodes its next block as a fresh one would, whatever the block before", () => {
        fc.assert(
            fc.property(
                layout,
                fc.array(fc.array(channelValue, { minLength: 8, maxLength: 8 }), { minLength: 1, maxLength: 40 }),
                ([channels, readings], before) => {
                    const reused = new ReadingsBuilder(channels)
                    for (const r of before) reused.add(r.slice(0, channels))
                    reused.clear()
                    const fresh = new ReadingsBuilder(channels)
                    for (const r of readings) {
                        reused.add(r)
                        fresh.add(r)
                    }
                    const a = new ByteWriter()
                    const b = new ByteWriter()
                    reused.encode(a)
                    fresh.encode(b)
                    expect(a.finish().equals(b.finish())).toBe(true)
                    expect(reused.bodySize()).toBe(fresh.bodySize())
                    expect(reused.readings()).toEqual(fresh.readings())
                    expect(reused.hasMissing()).toBe(fresh.hasMissing())
                }
            ),
            { numRuns: 200 }
        )
    })

    test("a bad value after a widening and a missing value in the same reading changes nothing", () => {
        const b = new ReadingsBuilder(3)
        for (let i = 0; i < 4; i++) b.add([i, 10, MISSING])
        const w = new ByteWriter()
        b.encode(w)
        expect(() => b.add([1000000, MISSING, 2 ** 40])).toThrow(/^channel 2: /)
        const again = new ByteWriter()
        b.encode(again)
        expect(again.finish().equals(w.finish())).toBe(true)
        b.add([4, 11, 5])
        expect(b.readings()).toEqual([
            [0, 10, null],
            [1, 10, null],
            [2, 10, null],
            [3, 10, null],
            [4, 11, 5],
        ])
    })

    test("round-trips genesis and gap bodies, and refuses oversized strings and bad layouts", () => {
        const head = newChainHead(testKey())
        const genesis = { deviceId: DEVICE_ID, firmware: "fw/1", board: "b", channels: [{ name: "t", unit: "degC", exponent: -2 }] }
        const g = sealBlock(nodeCrypto, DEVICE_ID, head, { type: RECORD_GENESIS, time: { boot: 0, uptimeMs: 0 }, intervalMs: 1, genesis })
        expect(decodeBlock(g.block.bytes).genesis).toEqual({ ...genesis, link: head.link })
        const gap = {
            reason: 1,
            lostReadings: 9,
            from: { boot: 2, uptimeMs: 3 },
            lostBlocks: 2,
            firstLostSeq: 4,
            lastLostHash: Buffer.alloc(32, 9),
        }
        const gb = sealBlock(
            nodeCrypto,
            DEVICE_ID,
            { ...head, seq: 9 },
            { type: RECORD_GAP, time: { boot: 2, uptimeMs: 9 }, intervalMs: 1, gap }
        )
        expect(decodeBlock(gb.block.bytes).gap).toEqual(gap)
        const genesisWith = (change: Partial<typeof genesis>) => () =>
            encodeContent(head, { type: RECORD_GENESIS, time: { boot: 0, uptimeMs: 0 }, intervalMs: 1, genesis: { ...genesis, ...change } })
        expect(genesisWith({ firmware: "x".repeat(40) })).toThrow(RangeError)
        expect(genesisWith({ channels: [] })).toThrow(RangeError)
        expect(genesisWith({ channels: [{ name: "t", unit: "u", exponent: 12 }] })).toThrow(RangeError)
    })
})

test("refuses a block size limit too small for one reading of the layout (v2 needs 32 bytes less than v1)", () => {
    const specs = Array.from({ length: 8 }, (_, i) => ({ name: "c" + i, unit: "u", exponent: 0 }))
    expect(largestSingleReadingBlock(8)).toBe(105)
    expect(largestSingleReadingBlock(8, 1)).toBe(137)
    expect(() => new Ledger(nodeCrypto, DEVICE_ID, specs, newChainHead(testKey()), { intervalMs: 1, maxBlockBytes: 104 })).toThrow(
        RangeError
    )
    expect(() => new Ledger(nodeCrypto, DEVICE_ID, specs, newChainHead(testKey()), { intervalMs: 1, maxBlockBytes: 105 })).not.toThrow()
    expect(
        () => new Ledger(nodeCrypto, DEVICE_ID, specs, newChainHead(testKey()), { intervalMs: 1, maxBlockBytes: 120, formatVersion: 1 })
    ).toThrow(RangeError)
})

describe("fixed point", () => {
    test.each([
        [21.456, -2, 2146],
        [-0.05, -1, -1],
        [1013.25, -1, 10133],
        [1500, 2, 15],
    ])("converts %f at 10^%i to %i", (v, e, expected) => {
        expect(toFixedPoint(v, e)).toBe(expected)
    })

    test.each([NaN, Infinity, -Infinity, 1e12])("turns %f into a missing value", v => {
        expect(toFixedPoint(v, -2)).toBe(MISSING)
    })
})

describe("v2 channel coding (FORMAT.md, 'Channel coding')", () => {
    const zigzags = fc.array(
        fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 ** 33 - 2 }), fc.integer({ min: 0, max: 300 })),
        { minLength: 1, maxLength: 60 }
    )
    const bits = (z: number) => (z === 0 ? 0 : Math.floor(Math.log2(z)) + 1)

    test("picks the fewest bits over fixed width and every Rice k, fixed on a tie, then the smallest k", () => {
        fc.assert(
            fc.property(zigzags, zs => {
                const width = Math.max(...zs.map(bits))
                const sums = Array.from({ length: 34 }, (_, k) => zs.reduce((n, z) => n + Math.floor(z / 2 ** k), 0))
                let best = zs.length * width
                let code = width
                for (let k = 0; k <= 32; k++) {
                    const cost = sums[k] + zs.length * (k + 1)
                    if (cost < best) [best, code] = [cost, RICE + k]
                }
                expect(chooseCoding(zs.length, width, sums)).toBe(code)
                expect(codingBits(code, zs.length, sums)).toBe(best)
            }),
            { numRuns: 500 }
        )
    })

    test("codes a channel that is mostly still and sometimes jumps in Rice, a smaller body than v1's fixed width", () => {
        const readings: Reading[] = Array.from({ length: 40 }, (_, i) => [i % 13 === 5 ? 250 : 0, 100 + (i & 1)])
        const v1 = new ReadingsBuilder(2, 1)
        const v2 = new ReadingsBuilder(2)
        for (const r of readings) (v1.add(r), v2.add(r))
        const w = new ByteWriter()
        v2.encode(w)
        const body = w.finish()
        // channelCount, then ch0: first value 0 (zigzag 0), its coding byte.
        expect(body[2]).toBeGreaterThanOrEqual(RICE)
        expect(v2.bodySize()).toBeLessThan(v1.bodySize())
        expect(
            decodeContent(
                encodeContent(
                    { ...newChainHead(testKey()), seq: 1 },
                    { type: RECORD_DATA, time: { boot: 0, uptimeMs: 0 }, intervalMs: 1, readings: v2 }
                )
            ).readings
        ).toEqual(readings)
    })

    test("rejects a coding that is valid but not the cheapest one", () => {
        const b = new ReadingsBuilder(1)
        for (const v of [0, 0, 0, 9, 0, 0, 0, 0]) b.add([v])
        const content = encodeContent(
            { ...newChainHead(testKey()), seq: 1 },
            { type: RECORD_DATA, time: { boot: 0, uptimeMs: 0 }, intervalMs: 1, readings: b }
        )
        // Zigzag deltas 0 0 18 17 0 0 0: fixed width 5 takes 35 bits, Rice k = 2 29 (8 + 7 x 3).
        const at = headerSize(1, { boot: 0, uptimeMs: 0 }, 1, 8) + 2 // after channelCount and the first value
        expect(content[at]).toBe(RICE + 2)
        expect(content.length - at - 1).toBe(4)
        // The same deltas at fixed width 5: 35 bits, 5 bytes instead of 4.
        const fixed = new BitWriter()
        fixed.writeRun([0, 0, 18, 17, 0, 0, 0], 5)
        const altered = Buffer.concat([content.subarray(0, at), Buffer.from([5]), fixed.finish()])
        expect(() => decodeContent(altered)).toThrow(/not the cheapest/)
    })
})
