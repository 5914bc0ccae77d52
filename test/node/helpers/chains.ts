/** Test chains sealed with the real Ledger: a known layout, key and device. */
import { newChainHead, SealedBlock } from "../../../src/lib/ledger/chain"
import { ChannelSpec, GAP_POWER_LOSS } from "../../../src/lib/codec/format"
import type { LedgerCrypto } from "../../../src/lib/ledger/keys"
import { Ledger } from "../../../src/lib/ledger/ledger"
import { MISSING, Reading } from "../../../src/lib/codec/readings"

export const DEVICE_ID = Buffer.from("12abdd2289421234", "hex")
export const OTHER_DEVICE_ID = Buffer.from("0badc0ffee000001", "hex")
export const CHANNELS: ChannelSpec[] = [
    { name: "temperature", unit: "degC", exponent: -2 },
    { name: "humidity", unit: "%RH", exponent: -2 },
]

export function testKey(fill = 0x11): Buffer {
    return Buffer.alloc(32, fill)
}

export interface TestChain {
    blocks: SealedBlock[]
    ledger: Ledger
}

/**
 * Genesis, `dataBlocks` data blocks of `perBlock` readings (one value missing in block 2), and
 * a power-loss gap record after them.
 */
export function buildChain(
    crypto: LedgerCrypto,
    options: { key?: Buffer; deviceId?: Buffer; dataBlocks?: number; perBlock?: number; gap?: boolean; formatVersion?: number } = {}
): TestChain {
    const perBlock = options.perBlock ?? 8
    const ledger = new Ledger(crypto, options.deviceId ?? DEVICE_ID, CHANNELS, newChainHead(Buffer.from(options.key ?? testKey())), {
        intervalMs: 1000,
        maxReadingsPerBlock: perBlock,
        formatVersion: options.formatVersion,
    })
    const blocks = [ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "test/1", "sim")]
    const count = (options.dataBlocks ?? 4) * perBlock
    for (let i = 0; i < count; i++) {
        const reading: Reading = [2100 + ((i * 7) % 13), 4500 - i]
        if (i === perBlock + 3) reading[1] = MISSING
        blocks.push(...ledger.append(reading, { boot: 0, uptimeMs: 1000 + i * 1000 }))
    }
    if (options.gap !== false)
        blocks.push(
            ...ledger.sealGap(
                { reason: GAP_POWER_LOSS, lostReadings: 3, lostBlocks: 0, firstLostSeq: 0, from: { boot: 0, uptimeMs: 99000 } },
                { boot: 1, uptimeMs: 10 }
            )
        )
    return { blocks, ledger }
}

/**
 * A chain sealed on hardware defaults (src/device/config.ts): a reading a minute, a block sealed once
 * its first reading is an hour old, checked before each reading as src/device/firmware.ts does. The
 * genesis block, then `hours` data blocks of 60 readings, one an hour of boot 0.
 */
export function hourlyChain(crypto: LedgerCrypto, options: { key?: Buffer; deviceId?: Buffer; hours: number }): SealedBlock[] {
    const minute = 60000
    const ledger = new Ledger(crypto, options.deviceId ?? DEVICE_ID, CHANNELS, newChainHead(Buffer.from(options.key ?? testKey())), {
        intervalMs: minute,
        maxBlockAgeMs: 60 * minute,
    })
    const blocks: SealedBlock[] = [ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "test/1", "esp32c3")]
    for (let m = 1; blocks.length <= options.hours; m++) {
        const time = { boot: 0, uptimeMs: m * minute }
        const aged = ledger.tick(time)
        if (aged) blocks.push(aged)
        blocks.push(...ledger.append([2000 + (m % 7), 5000 - (m % 11)], time))
    }
    return blocks
}
