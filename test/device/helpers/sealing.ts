/**
 * The firmware pipeline as the device suites run it: a ledger on the sources' channels, its
 * genesis sealed now, and src/device/firmware.ts sampling into a list of every sealed block.
 */
import * as ds from "@devicescript/core"
import { deviceCrypto } from "../../../src/device/crypto"
import { startFirmware } from "../../../src/device/firmware"
import { newChainHead, SealedBlock } from "../../../src/lib/ledger/chain"
import { Ledger } from "../../../src/lib/ledger/ledger"
import { ChannelSource } from "../../../src/sensing/sensors"

export function startSealing(
    sources: ChannelSource[],
    deviceId: Buffer,
    key0: Buffer,
    o: { intervalMs: number; maxBlockAgeMs: number; afterReading?: (openReadings: number) => Promise<void> }
) {
    const blocks: SealedBlock[] = []
    const ledger = new Ledger(
        deviceCrypto,
        deviceId,
        sources.map(s => s.spec),
        newChainHead(key0),
        { intervalMs: o.intervalMs, maxBlockAgeMs: o.maxBlockAgeMs }
    )
    blocks.push(ledger.sealGenesis({ boot: 0, uptimeMs: ds.millis() }, "test", "simulator"))
    const fw = startFirmware({
        ledger,
        boot: 0,
        intervalMs: o.intervalMs,
        sources,
        onSealed: async sealed => {
            for (const b of sealed) blocks.push(b)
        },
        afterReading: o.afterReading,
    })
    return {
        fw,
        /** Every block sealed so far, the open block sealed last (call once the firmware is stopped). */
        sealed: (): SealedBlock[] => {
            const last = ledger.sealOpen()
            if (last) blocks.push(last)
            return blocks
        },
    }
}
