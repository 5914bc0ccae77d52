/**
 * The bytes Sensirion and Aosong humidity sensors return over I2C, decoded and checked. Pure,
 * so the conversions and the CRC are tested on Node against the datasheets' examples.
 *
 * SHTC3 and SHT3x send each 16-bit word big-endian followed by its CRC-8 (polynomial 0x31,
 * init 0xFF); the AHT20 sends a status byte, 20-bit humidity and temperature packed in five
 * bytes, and one CRC-8 (same polynomial) over all six.
 */

/** Sensirion CRC-8: polynomial x^8 + x^5 + x^4 + 1 (0x31), init 0xFF, no reflection. */
export function crc8(data: Buffer, start: number, length: number): number {
    let crc = 0xff
    for (let i = start; i < start + length; i++) {
        crc ^= data[i]
        for (let b = 0; b < 8; b++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff
    }
    return crc
}

/**
 * A chip's reply that fails its check (CRC, status bits, identity, calibration, a field out of
 * range), from any part (Sensirion, Aosong, Bosch, Lite-On) and from the pure decoders as from
 * the drivers: the channel records a read error.
 */
export class FrameError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "FrameError"
    }
}

/** The CRC-checked 16-bit words of a Sensirion reply (word, CRC, word, CRC, ...). */
export function sensirionWords(frame: Buffer, count: number): number[] {
    if (frame.length !== count * 3) throw new FrameError("reply of " + frame.length + " bytes, expected " + count * 3)
    const words: number[] = []
    for (let i = 0; i < count; i++) {
        const at = i * 3
        if (crc8(frame, at, 2) !== frame[at + 2]) throw new FrameError("CRC mismatch in word " + i)
        words.push((frame[at] << 8) | frame[at + 1])
    }
    return words
}

export interface TemperatureHumidity {
    temperature: number
    humidity: number
}

/**
 * SHTC3 (datasheet 5.11): T = -45 + 175 * S_T / 2^16, RH = 100 * S_RH / 2^16, from a reply
 * measured temperature first.
 */
export function decodeShtc3(frame: Buffer): TemperatureHumidity {
    const words = sensirionWords(frame, 2)
    return { temperature: -45 + (175 * words[0]) / 65536, humidity: (100 * words[1]) / 65536 }
}

/** SHT3x (datasheet 4.13): the same, over 2^16 - 1. */
export function decodeSht3x(frame: Buffer): TemperatureHumidity {
    const words = sensirionWords(frame, 2)
    return { temperature: -45 + (175 * words[0]) / 65535, humidity: (100 * words[1]) / 65535 }
}

/** SHTC3 product-code check (datasheet 5.9): bits 11 and 5..0 of the ID register are 0b1_000111. */
export function isShtc3Id(word: number): boolean {
    return (word & 0x083f) === 0x0807
}

/** AHT20 status bits (datasheet 5.3, table 10). */
export const AHT20_BUSY = 0x80
export const AHT20_CALIBRATED = 0x08

/**
 * AHT20 (datasheet 6): status, 20 bits of humidity, 20 bits of temperature, CRC-8 over the six
 * bytes before it. RH = S_RH / 2^20 * 100, T = S_T / 2^20 * 200 - 50.
 */
export function decodeAht20(frame: Buffer): TemperatureHumidity {
    if (frame.length !== 7) throw new FrameError("reply of " + frame.length + " bytes, expected 7")
    if (crc8(frame, 0, 6) !== frame[6]) throw new FrameError("CRC mismatch")
    const status = frame[0]
    if (status & AHT20_BUSY) throw new FrameError("measurement not finished (status " + status + ")")
    // 20-bit fields straddle byte boundaries; products instead of shifts keep clear of the
    // 32-bit bit operators' sign.
    const rh = frame[1] * 4096 + frame[2] * 16 + (frame[3] >> 4)
    const t = (frame[3] & 0x0f) * 65536 + frame[4] * 256 + frame[5]
    return { temperature: (t / 1048576) * 200 - 50, humidity: (rh / 1048576) * 100 }
}
