/**
 * The edges of the byte and bit primitives the device's hot paths rely on: copyBytes and wipe
 * (a loop up to SHORT_BYTES, a native copy beyond), the cheap range checks of ByteWriter and
 * evolveKey, and the bit packer's run writer against its one-value writer.
 */
import fc from "fast-check"
import { describe, expect, test } from "vitest"
import { BitReader, BitWriter } from "../../../../src/lib/codec/bitpack"
import { ByteReader, ByteWriter, copyBytes, SHORT_BYTES, wipe } from "../../../../src/lib/codec/bytes"
import { evolveKey } from "../../../../src/lib/ledger/keys"
import { nodeCrypto } from "../../../../tools/lib/crypto"
import { DEVICE_ID, testKey } from "../../helpers/chains"

function counting(length: number): Buffer {
    return Buffer.from(Array.from({ length }, (_, i) => (i * 37 + 1) & 255))
}

describe("copyBytes", () => {
    test.each([0, 1, SHORT_BYTES, SHORT_BYTES + 1, 200])("copies %i bytes from an offset into a buffer of its own", n => {
        const source = counting(n + 10)
        const copy = copyBytes(source, 7, n)
        expect(copy.equals(source.subarray(7, 7 + n))).toBe(true)
        source.fill(0)
        expect(copy.equals(counting(n + 10).subarray(7, 7 + n))).toBe(true)
    })

    test("copies nothing at the very end", () => {
        expect(copyBytes(counting(20), 20, 0).length).toBe(0)
    })

    test.each([
        ["starting past the end", 21, 0],
        ["ending past the end (short copy)", 15, 6],
        ["ending past the end (long copy)", 0, 64],
        ["with a negative start", -1, 4],
        ["with a negative length", 2, -1],
        ["with a fractional start", 1.5, 2],
        ["with a fractional length", 0, 2.5],
        ["with a start that is not a number", NaN, 2],
    ])("refuses a range %s", (_name, start, length) => {
        expect(() => copyBytes(counting(20), start, length)).toThrow(RangeError)
    })
})

describe("wipe", () => {
    test.each([0, 1, SHORT_BYTES, SHORT_BYTES + 1, 200])("zeroes all %i bytes in place", n => {
        const buf = counting(n)
        wipe(buf)
        expect(buf.equals(Buffer.alloc(n))).toBe(true)
    })
})

describe("ByteWriter range checks", () => {
    test.each([-1, 256, 1.5, NaN, Infinity, "1", undefined, null])("u8 refuses %s", value => {
        expect(() => new ByteWriter().u8(value as number)).toThrow(RangeError)
    })

    test.each([-1, 0.5, 127.5, 2 ** 53, NaN, Infinity, "1", undefined, null])("varint refuses %s", value => {
        expect(() => new ByteWriter().varint(value as number)).toThrow(RangeError)
    })

    test.each([-1, 2 ** 32, 1.5, "1"])("u32 refuses %s", value => {
        expect(() => new ByteWriter().u32(value as number)).toThrow(RangeError)
    })

    test.each([
        [0, "00"],
        [127, "7f"],
        [128, "8001"],
        [2 ** 32 - 1, "ffffffff0f"],
    ])("writes the varint %i as %s, growing the buffer as needed", (value, hex) => {
        const w = new ByteWriter(1)
        w.u8(9).varint(value)
        expect(w.finish().toString("hex")).toBe("09" + hex)
        expect(new ByteReader(Buffer.from(hex, "hex"), "t").varint("v")).toBe(value)
    })

    test("writes u32 little-endian", () => {
        expect(new ByteWriter(2).u32(0x01020304).finish().toString("hex")).toBe("04030201")
    })
})

describe("evolveKey", () => {
    test.each([-1, 2 ** 32, 1.5, NaN])("refuses the seq %s", seq => {
        expect(() => evolveKey(nodeCrypto, testKey(), DEVICE_ID, seq)).toThrow(RangeError)
    })

    test("takes label || device id || u32le(seq) as the HMAC input", () => {
        const input = Buffer.concat([Buffer.from("fieldledger/v1/evolve"), DEVICE_ID, Buffer.from("04030201", "hex")])
        expect(evolveKey(nodeCrypto, testKey(), DEVICE_ID, 0x01020304).equals(nodeCrypto.hmacSha256(testKey(), input))).toBe(true)
    })
})

describe("BitWriter.writeRun", () => {
    const run = fc
        .integer({ min: 0, max: 53 })
        .chain(width =>
            fc.tuple(fc.constant(width), fc.array(fc.bigInt({ min: 0n, max: (1n << BigInt(width)) - 1n }).map(Number), { maxLength: 20 }))
        )

    test("packs the same bits as one write() per value, across runs of any width", () => {
        fc.assert(
            fc.property(fc.array(run, { maxLength: 8 }), fc.integer({ min: 0, max: 4 }), (runs, capacity) => {
                const one = new BitWriter()
                const many = new BitWriter(capacity)
                for (const [width, values] of runs) {
                    for (const v of values) one.write(v, width)
                    many.writeRun(values, width)
                }
                const bytes = many.finish()
                expect(bytes.equals(one.finish())).toBe(true)
                const r = new BitReader(bytes, 0, bytes.length, "t")
                for (const [width, values] of runs) for (const v of values) expect(r.read(width)).toBe(v)
                r.finish()
            })
        )
    })

    test("hands over its buffer when sized exactly, and refuses writes after finish()", () => {
        const w = new BitWriter(2)
        w.writeRun([1, 2, 3, 4], 4)
        const bytes = w.finish()
        expect(bytes.toString("hex")).toBe("1234")
        expect(() => w.writeRun([1], 4)).toThrow(RangeError)
        expect(() => w.write(1, 4)).toThrow(RangeError)
        expect(bytes.toString("hex")).toBe("1234")
    })

    test("packs only the first `count` values when given a count", () => {
        const w = new BitWriter()
        w.writeRun([1, 2, 3, 4], 4, 2)
        w.writeRun([5, 6], 4, 0)
        expect(w.finish().toString("hex")).toBe("12")
    })

    test.each([
        [-1, 4],
        [16, 4],
        [1.5, 4],
        [1, 54],
    ])("write() refuses the value %s in %s bits", (value, width) => {
        expect(() => new BitWriter().write(value, width)).toThrow(RangeError)
    })
})
