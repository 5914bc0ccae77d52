/**
 * A provisioned K_0 waiting in flash. `fieldledger provision` writes 32 random bytes to the
 * setting `fl_k0` and restarts the program; at boot the firmware starts a new chain under it
 * (a successor chain, its genesis linked to the previous head, when flash held a chain), saves
 * the ack key derived from it, and then deletes `fl_k0`: K_0 does not stay on the device.
 *
 * A reset can hit any step. Whether the stored chain was already started under the waiting key
 * is read from flash itself, so K_0 never starts two chains: the head still at seq 0 under K_0
 * (reset before the genesis block), or a genesis block tagged under K_0.
 * Pure and shared: the firmware and the Node tests run it over their own key-value store.
 */
import { constantTimeEqual } from "../codec/bytes"
import { decodeBlock } from "../ledger/chain"
import { decodeHead } from "./chainstore"
import { KEY_BYTES } from "../codec/format"
import { blockTag, LedgerCrypto } from "../ledger/keys"
import { GENESIS_KEY, HEAD_KEY, PROVISIONED_DATA_KEY_SETTING, PROVISIONED_KEY_SETTING } from "../flash/keys"
import { deleteVerified, KeyValueStore } from "../flash/verified"
import { warningLine } from "../log/lines"

export interface ProvisionedKey {
    key0: Buffer
    /** True when the stored chain was already started under key0 (a reset hit provisioning). */
    adopted: boolean
}

/** Whether the chain in flash was started under `key0`. */
export async function chainStartedUnder(kv: KeyValueStore, crypto: LedgerCrypto, deviceId: Buffer, key0: Buffer): Promise<boolean> {
    const rawHead = await kv.get(HEAD_KEY)
    if (!rawHead) return false
    try {
        const head = decodeHead(rawHead)
        if (head.seq === 0) return constantTimeEqual(head.key, key0)
    } catch (e) {
        return false
    }
    const genesisBytes = await kv.get(GENESIS_KEY)
    if (!genesisBytes) return false
    try {
        const genesis = decodeBlock(genesisBytes)
        return constantTimeEqual(blockTag(crypto, key0, deviceId, genesis.content, genesis.header.link), genesis.tag)
    } catch (e) {
        return false
    }
}

/** The provisioned K_0 in flash, if any; a value of the wrong size is deleted and ignored. */
export async function readProvisionedKey(kv: KeyValueStore, crypto: LedgerCrypto, deviceId: Buffer): Promise<ProvisionedKey | undefined> {
    const key0 = await kv.get(PROVISIONED_KEY_SETTING)
    if (!key0) return undefined
    if (key0.length !== KEY_BYTES) {
        console.log(warningLine("setting " + PROVISIONED_KEY_SETTING + " holds " + key0.length + " bytes, not a key; ignored and deleted"))
        await forgetProvisionedKey(kv)
        return undefined
    }
    return { key0, adopted: await chainStartedUnder(kv, crypto, deviceId, key0) }
}

/**
 * Deletes the provisioned D_0 (fl_d0, which ChainStore.create put in the new chain's head),
 * then K_0, from flash and checks the deletes took (a StorageError if not).
 */
export async function forgetProvisionedKey(kv: KeyValueStore) {
    await deleteVerified(kv, PROVISIONED_DATA_KEY_SETTING)
    await deleteVerified(kv, PROVISIONED_KEY_SETTING)
}
