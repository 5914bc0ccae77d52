import { describe, expect, it } from "vitest"
import { crc8, decodeAht20, decodeSht3x, decodeShtc3, FrameError, isShtc3Id, sensirionWords } from "../../../../src/lib/sensors/sensirion"

const b = (hex: string) => Buffer.from(hex, "hex")

describe("Sensirion CRC-8", () => {
    it("matches the datasheets' example: 0xBEEF gives 0x92", () => {
        expect(crc8(b("beef"), 0, 2)).toBe(0x92)
    })
    it("covers exactly the bytes asked for", () => {
        expect(crc8(b("00beef00"), 1, 2)).toBe(0x92)
        expect(crc8(b(""), 0, 0)).toBe(0xff)
    })
})

describe("Sensirion words", () => {
    it("returns the words of a reply whose CRCs check", () => {
        expect(sensirionWords(b("beef92beef92"), 2)).toEqual([0xbeef, 0xbeef])
    })
    it("refuses a bad CRC, naming the word", () => {
        expect(() => sensirionWords(b("beef92beef93"), 2)).toThrow(/CRC mismatch in word 1/)
        expect(() => sensirionWords(b("beef92beef93"), 2)).toThrow(FrameError)
    })
    it("refuses a reply of the wrong length", () => {
        expect(() => sensirionWords(b("beef92"), 2)).toThrow(/3 bytes, expected 6/)
    })
})

/** Word + CRC for a raw 16-bit value. */
function frame(...words: number[]): Buffer {
    const out = Buffer.alloc(words.length * 3)
    words.forEach((w, i) => {
        out[i * 3] = w >> 8
        out[i * 3 + 1] = w & 0xff
        out[i * 3 + 2] = crc8(out, i * 3, 2)
    })
    return out
}

describe("temperature and humidity conversions", () => {
    it("SHTC3: full scale over 2^16 (datasheet 5.11)", () => {
        const th = decodeShtc3(frame(0x6666, 0x8000))
        expect(th.temperature).toBeCloseTo(-45 + (175 * 0x6666) / 65536, 9)
        expect(th.humidity).toBe(50)
        expect(decodeShtc3(frame(0, 0))).toEqual({ temperature: -45, humidity: 0 })
    })
    it("SHT3x: full scale over 2^16 - 1 (datasheet 4.13), so 0xFFFF is exactly 130 degC and 100 %RH", () => {
        expect(decodeSht3x(frame(0xffff, 0xffff))).toEqual({ temperature: 130, humidity: 100 })
    })
    it("SHTC3 ID: the product code bits", () => {
        expect(isShtc3Id(0x0887)).toBe(true)
        expect(isShtc3Id(0x0807)).toBe(true)
        expect(isShtc3Id(0x1234)).toBe(false)
    })
})

describe("AHT20 frames", () => {
    function aht20(status: number, rh: number, t: number): Buffer {
        const out = Buffer.from([status, rh >> 12, (rh >> 4) & 0xff, ((rh & 0xf) << 4) | (t >> 16), (t >> 8) & 0xff, t & 0xff, 0])
        out[6] = crc8(out, 0, 6)
        return out
    }
    it("unpacks the two 20-bit fields (datasheet 6.1, 6.2)", () => {
        const th = decodeAht20(aht20(0x1c, 0x80000, 0x60000))
        expect(th.humidity).toBe(50)
        expect(th.temperature).toBe(25)
        const top = decodeAht20(aht20(0x1c, 0xfffff, 0xfffff))
        expect(top.humidity).toBeCloseTo(100, 3)
        expect(top.temperature).toBeCloseTo(150, 3)
    })
    it("refuses a busy status, a bad CRC and a short reply", () => {
        expect(() => decodeAht20(aht20(0x9c, 0x80000, 0x60000))).toThrow(/not finished/)
        const bad = aht20(0x1c, 0x80000, 0x60000)
        bad[6] ^= 1
        expect(() => decodeAht20(bad)).toThrow(/CRC mismatch/)
        expect(() => decodeAht20(Buffer.alloc(6))).toThrow(/6 bytes, expected 7/)
    })
})
