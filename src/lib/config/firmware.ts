/**
 * Who the firmware is: the program name it announces on the bus and the version its genesis
 * blocks declare. package.json holds the same two (`name`, `version`; a Node test keeps them
 * in step). `devs build` derives the runtime's own version string from package.json too: a
 * build of a commit without a release tag is called the next patch (v0.1.1-<commit> after
 * 0.1.0), which is why the runtime's banner may say one more than the genesis block.
 *
 * The golden vectors (tools/gen-vectors.ts) seal their own fixed firmware string: they are test
 * inputs, not this version, and do not change with it.
 */

/** The DeviceScript program name the firmware announces (package.json "name"). */
export const FIRMWARE_NAME = "fieldledger"

/** name/version, as the genesis block declares it (at most MAX_VERSION_BYTES). */
export const FIRMWARE_VERSION = "fieldledger/0.1.0"
