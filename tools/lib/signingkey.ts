/**
 * The device's signing key as provisioning sees it (docs/PROVISIONING.md, "Signing key"): pk_0,
 * which the firmware publishes in setting fl_signpk beside the hash of the genesis block of the
 * chain it signs, and the request to seal a signed checkpoint now (fl_signnow) that `provision
 * --force` makes before it gives the device a new key. The device's secret never leaves it:
 * only the public key is read here.
 */
import { constantTimeEqual } from "../../src/lib/codec/bytes"
import { LINK_BYTES } from "../../src/lib/codec/format"
import { SIGN_NOW_SETTING, SIGN_PUBLIC_KEY_SETTING } from "../../src/lib/flash/keys"
import type { KeyValueStore } from "../../src/lib/flash/verified"
import { DecodedBlock } from "../../src/lib/ledger/chain"
import { blockHash, LedgerCrypto } from "../../src/lib/ledger/keys"
import { PUBLIC_KEY_BYTES } from "../../src/lib/ledger/signedcheckpoint"
import { publicKeyFingerprint } from "./ed25519"

export interface DeviceSigningKey {
    /** pk_0 as 64 hex digits. */
    publicKey: string
    /** First 8 bytes of SHA-256(pk_0), hex. */
    fingerprint: string
    /** The key names the chain's genesis block given (false: a stale key, of an earlier chain). */
    forThisChain: boolean
}

/**
 * What fl_signpk says about the chain whose genesis block is `genesis`: undefined when the
 * setting is absent or not 64 bytes (a firmware that does not sign, or a device that has not
 * drawn its key).
 */
export async function readSigningKey(
    settings: KeyValueStore,
    crypto: LedgerCrypto,
    genesis: DecodedBlock
): Promise<DeviceSigningKey | undefined> {
    const value = await settings.get(SIGN_PUBLIC_KEY_SETTING)
    if (!value || value.length !== LINK_BYTES + PUBLIC_KEY_BYTES) return undefined
    const genesisHash = blockHash(crypto, genesis.header.link, Buffer.concat([genesis.content, genesis.tag]))
    const publicKey = Buffer.from(value.subarray(LINK_BYTES))
    return {
        publicKey: publicKey.toString("hex"),
        fingerprint: publicKeyFingerprint(publicKey),
        forThisChain: constantTimeEqual(value.subarray(0, LINK_BYTES), genesisHash),
    }
}

/**
 * Asks the device to seal a signed checkpoint now (fl_signnow) and waits until it says it has
 * stored one (the setting is gone). False when it did not within `timeoutMs` (the request is
 * withdrawn): a firmware that does not sign never answers.
 */
export async function requestSignedCheckpoint(
    settings: KeyValueStore,
    options: { timeoutMs: number; pollMs?: number; sleep?(ms: number): Promise<void> }
): Promise<boolean> {
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>(r => setTimeout(r, ms)))
    await settings.set(SIGN_NOW_SETTING, Buffer.from([1]))
    const deadline = Date.now() + options.timeoutMs
    for (;;) {
        await sleep(options.pollMs ?? 500)
        if (!(await settings.get(SIGN_NOW_SETTING))) return true
        if (Date.now() > deadline) {
            await settings.delete(SIGN_NOW_SETTING)
            return false
        }
    }
}
