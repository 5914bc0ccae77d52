/**
 * A fake fieldledger device for the provisioning tests: its settings are a MemoryStore, and a
 * "program restart" boots the shared firmware logic (src/lib/store/provisioned.ts, openChain) on it
 * the way src/device/device.ts does, sealing a genesis block (and a few data blocks when asked).
 */
import { randomBytes } from "node:crypto"
import { ChainStore } from "../../../src/lib/store/chainstore"
import { forgetProvisionedKey, readProvisionedKey } from "../../../src/lib/store/provisioned"
import { openChain } from "../../../src/lib/store/recovery"
import { loadAckKey, saveAckKey, SyncResult, syncRound } from "../../../src/lib/sync/syncround"
import { usbPost } from "../../../src/lib/sync/usbpost"
import { deriveAckKey } from "../../../src/lib/sync/syncwire"
import { SealedBlock } from "../../../src/lib/ledger/chain"
import { FIRMWARE_VERSION } from "../../../src/lib/config/firmware"
import { nodeCrypto } from "../../../tools/lib/crypto"
import type { DeviceSettings } from "../../../tools/lib/provisioning"
import { MemoryStore } from "../helpers/memorystore"
import { SIGN_NOW_SETTING, SIGN_PUBLIC_KEY_SETTING } from "../../../src/lib/flash/keys"
import { publicKeyOf } from "../../../tools/lib/ed25519"

const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))

export const FAKE_ID = "0123456789abcdef"
const channels = [{ name: "t", unit: "degC", exponent: -2 }]

export class FakeDevice {
    readonly kv = new MemoryStore()
    readonly id = Buffer.from(FAKE_ID, "hex")
    /** Every block the device sealed, in order (across chains). */
    readonly sealed: SealedBlock[] = []
    restarts = 0
    /** When false, a restart does not run the firmware (a device with other firmware). */
    firmware = true
    uptime = 0
    /** The device's random key when unprovisioned (hardware: nobody knows it). */
    randomKey = () => Buffer.alloc(32, 0x77)
    /**
     * A firmware that signs: it publishes pk_0 of each provisioned chain (fl_signpk, before it
     * deletes fl_k0) and answers a request to sign now (fl_signnow) by deleting it (the sealing
     * itself is the firmware's, not this fake's). `signNowAnswers` counts the requests answered.
     */
    signs = false
    signingSeed = Buffer.alloc(32, 0x5e)
    signNowAnswers = 0

    settings: DeviceSettings = {
        get: k => this.kv.get(k),
        set: async (k, v) => {
            await this.kv.set(k, Buffer.from(v))
            if (k === SIGN_NOW_SETTING && this.signs)
                setTimeout(() => {
                    this.signNowAnswers++
                    void this.kv.delete(SIGN_NOW_SETTING)
                }, 5)
        },
        delete: k => this.kv.delete(k),
    }

    /** Boots the firmware: what src/device/device.ts does before the sampling loop; then seals `dataBlocks` blocks. */
    async boot(dataBlocks = 0) {
        const store = new ChainStore(this.kv, nodeCrypto, this.id)
        const provisioned = await readProvisionedKey(this.kv, nodeCrypto, this.id)
        if (provisioned && provisioned.adopted) await saveAckKey(this.kv, deriveAckKey(nodeCrypto, provisioned.key0, this.id))
        let genesis: SealedBlock | undefined
        const chain = await openChain({
            store,
            crypto: nodeCrypto,
            deviceId: this.id,
            channels,
            ledger: { intervalMs: 1000, maxReadingsPerBlock: 3 },
            firmwareVersion: FIRMWARE_VERSION,
            board: "test",
            checkpointEvery: 10,
            successor: !!provisioned && !provisioned.adopted,
            newKey: async () => {
                const key0 = provisioned ? Buffer.from(provisioned.key0) : this.randomKey()
                await saveAckKey(this.kv, deriveAckKey(nodeCrypto, key0, this.id))
                return key0
            },
            uptimeMs: () => this.uptime,
            onSealed: async b => {
                this.sealed.push(b)
                if (b.seq === 0) genesis = b
            },
        })
        if (provisioned && genesis && this.signs)
            await this.kv.set(SIGN_PUBLIC_KEY_SETTING, Buffer.concat([genesis.hash, publicKeyOf(this.signingSeed)]))
        if (provisioned) await forgetProvisionedKey(this.kv)
        for (const b of chain.recovered) {
            await store.commit(b.bytes, b.seq)
            this.sealed.push(b)
        }
        for (let i = 0; i < dataBlocks * 3; i++) {
            this.uptime += 1000
            const out = chain.ledger.append([2000 + i], { boot: chain.boot, uptimeMs: this.uptime })
            for (const b of out) {
                await store.commit(b.bytes, b.seq)
                this.sealed.push(b)
            }
        }
        return { store, chain }
    }

    /** The firmware's sync round over USB (src/uplink/syncloop.ts with FL_GATEWAY=usb) from `store`, the chain store `boot()` returned. */
    async syncOverUsb(store: ChainStore, timeoutMs = 3000): Promise<SyncResult> {
        return await syncRound({
            store,
            crypto: nodeCrypto,
            deviceId: this.id,
            ackKey: (await loadAckKey(this.kv))!,
            nonce: () => randomBytes(8),
            acknowledge: seq => store.acknowledge(seq),
            post: usbPost({ kv: this.kv, slots: store.slots, timeoutMs, pollMs: 5, now: Date.now, sleep }),
        })
    }

    restartProgram = async () => {
        this.restarts++
        if (this.firmware) await this.boot()
    }
}
