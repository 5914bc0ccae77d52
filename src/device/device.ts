/**
 * The device's wiring, shared by src/main.ts and the power-cut harness's entry: open (or
 * continue) the chain in flash, show the backlog it still holds, and run the pipeline.
 */
import * as ds from "@devicescript/core"
import { printSealedBlock } from "./blockprinter"
import { FirmwareConfig } from "./config"
import { deviceCrypto } from "./crypto"
import { loadDeviceKey } from "./devicekey"
import { startFirmware } from "./firmware"
import { FIRMWARE_VERSION } from "../lib/config/firmware"
import { startBacklog } from "../lib/store/backlog"
import { ChainStore } from "../lib/store/chainstore"
import { slotsForBacklog } from "../lib/store/defaults"
import { openChain } from "../lib/store/recovery"
import { forgetProvisionedKey, readProvisionedKey } from "../lib/store/provisioned"
import { SIGN_STATE_KEY } from "../lib/flash/keys"
import { deleteVerified } from "../lib/flash/verified"
import { openSigner } from "./signer"
import { ChannelSource } from "../sensing/sensors"
import { settingsStore } from "./settingsstore"
import { loadAckKey, saveAckKey } from "../lib/sync/syncround"
import { deriveAckKey } from "../lib/sync/syncwire"
import { USB_GATEWAY } from "../lib/sync/usbwire"
import { WallClock } from "../lib/sync/wallclock"
import { startSync } from "../uplink/syncloop"
import { bootLine, PROVISIONED_LINE, statusLine, syncLine, syncOffLine, syncTargetLine, warningLine } from "../lib/log/lines"

export interface DeviceOptions {
    config: FirmwareConfig
    sources: ChannelSource[]
    /** Called after every reading with the boot and the open block's size (diagnostics). */
    afterReading?(boot: number, openReadings: number): Promise<void>
}

/** One console line of state per commit: what a technician or the dashboard reads. */
async function printStatus(store: ChainStore, pendingInRam: number, boot: number) {
    const h = store.currentHead()
    const backlog = store.backlogBlocks()
    console.log(statusLine(h.seq, backlog, await store.backlogReadings(), store.slots - backlog, pendingInRam, boot, h.loss))
}

/** Sync to the configured gateway, if any; the ack's time sets the wall clock. */
async function startDeviceSync(
    config: FirmwareConfig,
    store: ChainStore,
    deviceId: Buffer,
    clock: WallClock,
    acknowledge: (seq: number) => Promise<void>
) {
    if (!config.gatewayUrl) {
        console.log(syncOffLine("no gateway configured (setting FL_GATEWAY); the backlog stays in flash"))
        return
    }
    const ackKey = await loadAckKey(settingsStore)
    if (!ackKey) {
        console.log(warningLine("sync off: this chain has no ack key (sealed by older firmware); provision the device again"))
        return
    }
    const to = config.gatewayUrl === USB_GATEWAY ? "USB (fieldledger bridge on the host)" : config.gatewayUrl
    console.log(syncTargetLine(to, config.syncPeriodMs))
    startSync({
        store,
        crypto: deviceCrypto,
        deviceId,
        ackKey,
        gatewayUrl: config.gatewayUrl,
        slots: store.slots,
        periodMs: config.syncPeriodMs,
        maxBackoffMs: config.maxBackoffMs,
        requestTimeoutMs: 10000,
        acknowledge,
        onResult: (r, uptimeMs) => {
            if (r.ack) clock.set(r.ack.time, uptimeMs)
            console.log(syncLine(r.outcome, r.sent, r.ack ? r.ack.ack : undefined, store.backlogBlocks(), r.error))
        },
    })
}

export async function runDevice(options: DeviceOptions) {
    const { config, sources } = options
    const deviceId = Buffer.from(ds.deviceIdentifier("self"), "hex")
    // Two slots more than the budget: room for the gap record a drop seals.
    const store = new ChainStore(settingsStore, deviceCrypto, deviceId, slotsForBacklog(config.maxBacklogBlocks))
    // A K_0 left by `fieldledger provision` (setting fl_k0) starts a new chain under it.
    const provisioned = await readProvisionedKey(settingsStore, deviceCrypto, deviceId)
    if (provisioned && provisioned.adopted) await saveAckKey(settingsStore, deriveAckKey(deviceCrypto, provisioned.key0, deviceId))
    // A new chain gets a new signing seed: the old chain's state goes before its genesis is sealed.
    else if (provisioned) await deleteVerified(settingsStore, SIGN_STATE_KEY)
    const chain = await openChain({
        store,
        crypto: deviceCrypto,
        deviceId,
        channels: sources.map(s => s.spec),
        ledger: config.ledger,
        firmwareVersion: FIRMWARE_VERSION,
        board: config.board,
        checkpointEvery: config.checkpointEvery,
        successor: !!provisioned && !provisioned.adopted,
        newKey: async () => {
            // K_ack, for checking the gateway's acks, comes from K_0 before K_0 is evolved away.
            const key0 = provisioned ? provisioned.key0 : await loadDeviceKey()
            await saveAckKey(settingsStore, deriveAckKey(deviceCrypto, key0, deviceId))
            return key0
        },
        uptimeMs: () => ds.millis(),
        onSealed: async b => printSealedBlock(b),
    })
    // Before fl_k0 goes: provisioning reads fl_signpk once it is gone.
    const signer = await openSigner({
        store,
        ledger: chain.ledger,
        deviceId,
        created: chain.created,
        everyBlocks: config.signEvery,
        everyMs: config.signHours * 3600000,
        submit: async b => await sink.submit(b),
    })
    if (provisioned) {
        await forgetProvisionedKey(settingsStore)
        console.log(PROVISIONED_LINE)
    }
    const head = store.currentHead()
    console.log(bootLine(chain.boot, chain.created, head.seq, store.backlogBlocks()))
    // The backlog on the console: what a developer (or a host tool) sees of the stored chain
    // until a gateway syncs it.
    for (let s = head.oldestSeq; s < head.seq; s++) {
        const bytes = await store.readBlock(s)
        if (bytes) printSealedBlock({ seq: s, type: bytes[1], bytes, hash: undefined })
    }
    const sink = startBacklog({
        store,
        ledger: chain.ledger,
        maxBacklogBlocks: config.maxBacklogBlocks,
        checkpointEvery: config.checkpointEvery,
        whenFull: config.whenFull,
        now: () => chain.ledger.latestReadingTime() || { boot: chain.boot, uptimeMs: ds.millis() },
        onSealed: async b => {
            printSealedBlock(b)
            await signer.onStored(b)
            await printStatus(store, sink.pending(), chain.boot)
        },
        pause: async () => await ds.sleep(1),
    })
    // Blocks sealed while recovering from a reset go through the backlog, which makes room.
    // A real suspension first: restoring and sealing a full block used most of this fiber
    // run's op budget, and the commit decodes the block again.
    await ds.sleep(0)
    await sink.submit(chain.recovered)
    const clock = new WallClock()
    await startDeviceSync(config, store, deviceId, clock, sink.acknowledge)
    signer.start()
    const firmware = startFirmware({
        unixTimeAt: uptimeMs => clock.unixSecondsAt(uptimeMs),
        ledger: chain.ledger,
        boot: chain.boot,
        intervalMs: config.ledger.intervalMs,
        sources,
        onSealed: sink.submit,
        shouldSample: sink.shouldSample,
        afterReading: async n => {
            await sink.afterReading(n)
            if (options.afterReading) await options.afterReading(chain.boot, n)
        },
    })
    return {
        store,
        /** Stops sampling and seals the open block (a clean shutdown); sync goes on. */
        stopSampling: async () => {
            firmware.stop()
            // A reading already under way finishes within one interval.
            await ds.sleep(config.ledger.intervalMs)
            const last = chain.ledger.sealOpen()
            if (last) await sink.submit([last])
        },
    }
}
