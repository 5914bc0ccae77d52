/**
 * Every flash key (DeviceScript setting) the firmware or the host tools read or write, in one
 * place: no other file of src/ or tools/ spells one (test/node/lib/flash/keys.test.ts checks the
 * tree). docs/STORAGE.md describes the chain's entries, docs/SECURITY.md who can read them.
 *
 * Bounds of the settings store (docs/STORAGE.md): a key of at most 13 characters, and
 * key + 1 + value at most 232 bytes. Every key below is readable (and writable) by any host on
 * the device's USB/Jacdac bus: the Settings service has no access control, and a `$` prefix
 * protects nothing on this runtime. "Secret" says what a reader of it learns.
 *
 * Pure constants, imported by every layer above and by the tools; no import itself.
 */

// ---------------------------------------------------------------- the chain (src/lib/store)

/**
 * The head (next seq, link, epoch key K_seq, boot, oldest seq, pending loss; at most 112 bytes).
 * Written by the firmware's ChainStore after every block, at boot, on acknowledgement or drop;
 * read by the firmware at boot and by provisioning and the bridge over USB. Secret: K_seq.
 */
export const HEAD_KEY = "fl_head"

/**
 * The open block's content at its last checkpoint (at most 200 bytes). Written by the
 * firmware's ChainStore every FL_CKPT_EVERY readings, read by it at boot. Not secret.
 */
export const OPEN_KEY = "fl_open"

/**
 * The genesis block (at most 200 bytes), written once per chain by the firmware; read by the
 * firmware (provisioned-key adoption), by provisioning (proof of K_0) and the bridge. Not secret.
 */
export const GENESIS_KEY = "fl_gen"

/**
 * Prefix of the block ring: "fb" + slot (0 .. slots - 1, at most 255 slots: "fb254" is 5
 * characters), one sealed block each (at most 200 bytes). Written by the firmware's ChainStore,
 * read by the firmware (backlog, sync) and by the bridge over USB. Not secret.
 */
export const BLOCK_KEY_PREFIX = "fb"

// ---------------------------------------------------------------- keys and provisioning

/**
 * K_ack (32 bytes), derived from K_0: written by the firmware when it starts a chain, read by
 * the firmware's sync (to check the gateway's acks); provisioning only tests it is there.
 * Secret: whoever reads it can forge acks to this device.
 */
export const ACK_KEY_SETTING = "fl_ackkey"

/**
 * A provisioned K_0 (32 bytes) waiting for the firmware: written by `fieldledger provision`,
 * read and then deleted by the firmware at its next boot; provisioning polls for it to go.
 * Secret: the whole new chain (it exists for about a second).
 */
export const PROVISIONED_KEY_SETTING = "fl_k0"

/**
 * `{"v":1,"t":<unix seconds>}` as JSON (under 40 bytes): written by `fieldledger provision`
 * once the device proved its chain, read by provisioning (`--check`, the next provision).
 * The firmware never reads it. Not secret.
 */
export const PROVISIONED_MARK_SETTING = "fl_prov"

// ---------------------------------------------------------------- signed checkpoints (docs/PROVISIONING.md, "Signing key")

/**
 * The chain's signing public key for provisioning: 64 bytes, the chain's genesis block hash
 * (SHA-256(link || genesis block), block 1's link) || pk_0. Written by the firmware when it has
 * drawn seed_0 for a chain started under a provisioned K_0, BEFORE it deletes fl_k0, so that
 * provisioning, which waits for fl_k0 to go, finds it then or knows the firmware does not sign;
 * read by `fieldledger provision` (registers pk_0 with the gateway) and `--check`. The hash ties
 * it to one chain: a stale value names another genesis. Not secret.
 */
export const SIGN_PUBLIC_KEY_SETTING = "fl_signpk"

/**
 * A request to seal a signed checkpoint now, for `provision --force` before it re-provisions (and
 * a planned shutdown): any value (the host writes one byte). The firmware looks for it every 2 s
 * (src/device/signer.ts), seals a signed checkpoint (after sealing the open block), and deletes
 * the setting once the checkpoint is stored in flash; the host polls until it is gone. Not secret.
 */
export const SIGN_NOW_SETTING = "fl_signnow"

/**
 * The signing state of the signed checkpoints (docs/SIGNING.md): keyIndex (u32, as
 * ByteWriter writes it) || seed_keyIndex (32) || pk_keyIndex (32), 68 bytes. Written by the firmware when it
 * starts a chain (seed_0 from randomBuffer, never sent anywhere) and after each signed checkpoint
 * is stored (the advance to keyIndex + 1, which overwrites seed_keyIndex); read by the firmware.
 * Secret: seed_keyIndex signs checkpoints keyIndex and later (the ones before it were signed by
 * seeds already wiped, which cannot be derived back).
 */
export const SIGN_STATE_KEY = "fl_sign"

// ---------------------------------------------------------------- USB sync (src/lib/sync/usbwire.ts)

/**
 * The device's open bridge request (version, nonce, backlog, slots: at most 24 bytes): written
 * and deleted by the firmware around a USB sync round, read by `fieldledger bridge`. Not secret.
 */
export const BRIDGE_REQUEST_SETTING = "fl_bnonce"

/**
 * The bridge's trimmed gateway reply (JSON, at most 232 - 1 - 7 = 224 bytes): written by
 * `fieldledger bridge`, read and deleted by the firmware. Not secret (its ack is signed).
 */
export const BRIDGE_REPLY_SETTING = "fl_brep"

// ---------------------------------------------------------------- configuration (src/device/config.ts)
// JSON values (a string or a number, well under 100 bytes), written by provisioning or
// `.env.defaults`, read by the firmware at boot and by provisioning (`--check`). Not secret,
// but a host can change them (e.g. redirect FL_GATEWAY).

/** Gateway base URL, "usb" (the bridge) or empty (no sync). The bridge reads it too. */
export const GATEWAY_SETTING = "FL_GATEWAY"
/** Sampling interval, ms. */
export const INTERVAL_SETTING = "FL_INTERVAL"
/** Longest time a block stays open, ms. */
export const BLOCK_AGE_SETTING = "FL_BLOCK_AGE"
/** Unacknowledged blocks kept in flash. */
export const BACKLOG_SETTING = "FL_BACKLOG"
/** Readings between checkpoints of the open block. */
export const CHECKPOINT_EVERY_SETTING = "FL_CKPT_EVERY"
/** "drop-oldest" or "stop-sampling". */
export const WHEN_FULL_SETTING = "FL_WHEN_FULL"
/** Time between sync rounds, ms. */
export const SYNC_PERIOD_SETTING = "FL_SYNC_MS"
/** Longest sync back-off, ms. */
export const MAX_BACKOFF_SETTING = "FL_BACKOFF_MS"
/** Blocks between signed checkpoints. */
export const SIGN_EVERY_SETTING = "FL_SIGN_EVERY"
/** Longest uptime between signed checkpoints, hours. */
export const SIGN_HOURS_SETTING = "FL_SIGN_HOURS"
/** The sensor kind (src/lib/sensors/sensorkinds.ts); read by src/sensing/sensorconfig.ts. */
export const SENSOR_SETTING = "FL_SENSOR"
