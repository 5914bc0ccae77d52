/**
 * The firmware's console lines, `fl:KIND ...`: what a developer watches, and what the host tools
 * read (`fieldledger start`, `powercut`, the bridge and simulator tests). Every line the firmware
 * prints is formatted here, so that its parser (./parse.ts, Node only: regexes) sits beside it
 * and a round-trip test holds the two together. Device-safe: string concatenation only, one call
 * per event (never per reading), no more than 8 non-literal parts per concatenation.
 */

export const LINE_PREFIX = "fl:"

/** Record type names as `fl:block` lines show them, by type byte (docs/FORMAT.md). */
export const BLOCK_TYPE_NAMES = ["genesis", "data", "gap", "checkpoint"]

/** One part of a sealed block: `fl:block seq=S type=T bytes=B part=i/n hex=H` (the runtime cuts long lines). */
export function blockLine(seq: number, type: string, bytes: number, part: number, parts: number, hex: string): string {
    return "fl:block seq=" + seq + " type=" + type + " bytes=" + bytes + " part=" + part + "/" + parts + " hex=" + hex
}

/** The store's state after a commit: `fl:status seq=S backlog=B readings=R free_slots=F ram=M boot=N[ lost=A..B]`. */
export function statusLine(
    seq: number,
    backlog: number,
    readings: number,
    freeSlots: number,
    ram: number,
    boot: number,
    lost?: { fromSeq: number; toSeq: number }
): string {
    const tail = " ram=" + ram + " boot=" + boot + (lost ? " lost=" + lost.fromSeq + ".." + lost.toSeq : "")
    return "fl:status seq=" + seq + " backlog=" + backlog + " readings=" + readings + " free_slots=" + freeSlots + tail
}

/** One sync round: `fl:sync OUTCOME sent=N[ ack=A] backlog=B[ error=TEXT]`. */
export function syncLine(outcome: string, sent: number, ack: number | undefined, backlog: number, error: string | undefined): string {
    const acked = ack === undefined ? "" : " ack=" + ack
    const why = error ? " error=" + error : ""
    return "fl:sync " + outcome + " sent=" + sent + acked + " backlog=" + backlog + why
}

/** Where the device syncs: `fl:sync to TARGET every N ms`. */
export function syncTargetLine(target: string, periodMs: number): string {
    return "fl:sync to " + target + " every " + periodMs + " ms"
}

/** Sync is off, and why: `fl:sync off: WHY`. */
export function syncOffLine(why: string): string {
    return "fl:sync off: " + why
}

/** The chain is open: `fl:boot N new chain, backlog B blocks` or `fl:boot N chain continues at seq S, backlog B blocks`. */
export function bootLine(boot: number, created: boolean, seq: number, backlog: number): string {
    return "fl:boot " + boot + (created ? " new chain" : " chain continues at seq " + seq) + ", backlog " + backlog + " blocks"
}

/**
 * The device's current signing key: `fl:signkey index=I pk=HEX`, I the key index (0: pk_0, the
 * key provisioning registers) and HEX its 32-byte Ed25519 public key in lower-case hex. Printed
 * when a chain's key is drawn and after each signed checkpoint advances it.
 */
export function signKeyLine(keyIndex: number, publicKeyHex: string): string {
    return "fl:signkey index=" + keyIndex + " pk=" + publicKeyHex
}

export const PROVISIONED_LINE = "fl:provisioned chain started under the provisioned key, which is now deleted"

/** A sensor fault begins or ends: `fl:fault channel=C kind=K state=begin|end detail=TEXT`. */
export function faultLine(channel: string, fault: string, state: string, detail: string): string {
    return "fl:fault channel=" + channel + " kind=" + fault + " state=" + state + " detail=" + detail
}

/** The power-cut harness's reading counter: `fl:tick boot=N n=COUNT` (test/harness/powercut-device.ts). */
export function tickLine(boot: number, n: number): string {
    return "fl:tick boot=" + boot + " n=" + n
}

/** Line kinds whose text is for people only: `fl:KIND TEXT`. */
export const TEXT_KINDS = ["sensor", "config", "warning", "error", "backlog"]

export function sensorLine(text: string): string {
    return "fl:sensor " + text
}
export function configLine(text: string): string {
    return "fl:config " + text
}
export function warningLine(text: string): string {
    return "fl:warning " + text
}
export function errorLine(text: string): string {
    return "fl:error " + text
}
export function backlogLine(text: string): string {
    return "fl:backlog " + text
}
