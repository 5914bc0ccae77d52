/**
 * Firmware defaults shared with the host tools (the endurance benchmark runs the same
 * numbers). Settings override them on a device (src/device/config.ts).
 */

/** Readings between flash checkpoints of the open block: the most a power cut loses. */
export const DEFAULT_CHECKPOINT_EVERY = 10

/**
 * Unacknowledged blocks kept in flash. With two slots more than this, 30 slots of at most
 * 224 bytes plus the head, checkpoint and genesis entries leave the 8 KB settings half
 * (8144 usable bytes) about 900 bytes to collect into; 35 slots is the hard limit.
 */
export const DEFAULT_BACKLOG_BLOCKS = 28

/** Slots for a backlog budget: room for the gap record a drop seals, and one spare. */
export function slotsForBacklog(maxBacklogBlocks: number): number {
    return maxBacklogBlocks + 2
}

/**
 * Values (readings x channels) in one block on the device. Sealing a block, the flash commit
 * that decodes it again, and at boot the restore of a checkpointed block with its seal and
 * commit, each run in one fiber run, which may not exceed 131,071 bytecode ops (an
 * InfiniteLoop panic restarts the program); the worst block the format allows (255 readings
 * of 8 channels) needs several times that. test/device/ledgerlimits.test.ts proves the capped
 * worst cases.
 */
export const DEFAULT_MAX_VALUES_PER_BLOCK = 192
