/**
 * The host's half of ./lines.ts: turns a console line of the firmware back into what it says.
 * Node only (regexes): the firmware never imports this file, so the device build does not pay
 * for it. `formatLine` is the inverse, through the firmware's own formatters, so that the
 * round-trip test covers every kind.
 */
import { FormatError, fromHex } from "../codec/bytes"
import {
    backlogLine,
    blockLine,
    bootLine,
    configLine,
    errorLine,
    faultLine,
    PROVISIONED_LINE,
    sensorLine,
    signKeyLine,
    statusLine,
    syncLine,
    syncOffLine,
    syncTargetLine,
    tickLine,
    warningLine,
} from "./lines"

export type TextKind = "sensor" | "config" | "warning" | "error" | "backlog"

export type DeviceLine =
    | { kind: "block"; seq: number; type: string; bytes: number; part: number; parts: number; hex: string }
    | {
          kind: "status"
          seq: number
          backlog: number
          readings: number
          freeSlots: number
          ram: number
          boot: number
          lost?: { fromSeq: number; toSeq: number }
      }
    | { kind: "sync"; outcome: string; sent: number; ack?: number; backlog: number; error?: string }
    | { kind: "sync-to"; target: string; periodMs: number }
    | { kind: "sync-off"; why: string }
    | { kind: "boot"; boot: number; created: boolean; seq?: number; backlog: number }
    | { kind: "provisioned" }
    | { kind: "signkey"; keyIndex: number; publicKey: string }
    | { kind: "fault"; channel: string; fault: string; state: string; detail: string }
    | { kind: "tick"; boot: number; n: number }
    | { kind: TextKind; text: string }

const N = "(\\d+)"
const PATTERNS: [RegExp, (m: RegExpExecArray) => DeviceLine][] = [
    [
        new RegExp(`^fl:block seq=${N} type=(\\w+) bytes=${N} part=${N}/${N} hex=([0-9a-f]*)$`),
        m => ({ kind: "block", seq: +m[1], type: m[2], bytes: +m[3], part: +m[4], parts: +m[5], hex: m[6] }),
    ],
    [
        new RegExp(`^fl:status seq=${N} backlog=${N} readings=${N} free_slots=(-?\\d+) ram=${N} boot=${N}(?: lost=${N}\\.\\.${N})?$`),
        m => {
            const line: DeviceLine = {
                kind: "status",
                seq: +m[1],
                backlog: +m[2],
                readings: +m[3],
                freeSlots: +m[4],
                ram: +m[5],
                boot: +m[6],
            }
            if (m[7] !== undefined) line.lost = { fromSeq: +m[7], toSeq: +m[8] }
            return line
        },
    ],
    [/^fl:sync to (.+) every (\d+) ms$/, m => ({ kind: "sync-to", target: m[1], periodMs: +m[2] })],
    [/^fl:sync off: (.*)$/, m => ({ kind: "sync-off", why: m[1] })],
    [
        /^fl:sync (\w+) sent=(\d+)(?: ack=(-?\d+))? backlog=(\d+)(?: error=(.*))?$/,
        m => {
            const line: DeviceLine = { kind: "sync", outcome: m[1], sent: +m[2], backlog: +m[4] }
            if (m[3] !== undefined) line.ack = +m[3]
            if (m[5] !== undefined) line.error = m[5]
            return line
        },
    ],
    [
        /^fl:boot (\d+) (?:new chain|chain continues at seq (\d+)), backlog (\d+) blocks$/,
        m => {
            const line: DeviceLine = { kind: "boot", boot: +m[1], created: m[2] === undefined, backlog: +m[3] }
            if (m[2] !== undefined) line.seq = +m[2]
            return line
        },
    ],
    [/^fl:provisioned /, () => ({ kind: "provisioned" })],
    [/^fl:signkey index=(\d+) pk=([0-9a-f]{64})$/, m => ({ kind: "signkey", keyIndex: +m[1], publicKey: m[2] })],
    [
        /^fl:fault channel=(\S+) kind=(\S+) state=(\S+) detail=(.*)$/,
        m => ({ kind: "fault", channel: m[1], fault: m[2], state: m[3], detail: m[4] }),
    ],
    [/^fl:tick boot=(\d+) n=(\d+)$/, m => ({ kind: "tick", boot: +m[1], n: +m[2] })],
    [/^fl:(sensor|config|warning|error|backlog) (.*)$/, m => ({ kind: m[1] as TextKind, text: m[2] })],
]

/** What a console line says, or undefined when it is not one of the firmware's `fl:` lines. */
export function parseLine(line: string): DeviceLine | undefined {
    if (!line.startsWith("fl:")) return undefined
    for (const [pattern, build] of PATTERNS) {
        const m = pattern.exec(line)
        if (m) return build(m)
    }
    return undefined
}

/** The line the firmware prints for `line` (its own formatters): the inverse of parseLine. */
export function formatLine(line: DeviceLine): string {
    switch (line.kind) {
        case "block":
            return blockLine(line.seq, line.type, line.bytes, line.part, line.parts, line.hex)
        case "status":
            return statusLine(line.seq, line.backlog, line.readings, line.freeSlots, line.ram, line.boot, line.lost)
        case "sync":
            return syncLine(line.outcome, line.sent, line.ack, line.backlog, line.error)
        case "sync-to":
            return syncTargetLine(line.target, line.periodMs)
        case "sync-off":
            return syncOffLine(line.why)
        case "boot":
            return bootLine(line.boot, line.created, line.seq ?? 0, line.backlog)
        case "provisioned":
            return PROVISIONED_LINE
        case "signkey":
            return signKeyLine(line.keyIndex, line.publicKey)
        case "fault":
            return faultLine(line.channel, line.fault, line.state, line.detail)
        case "tick":
            return tickLine(line.boot, line.n)
        case "sensor":
            return sensorLine(line.text)
        case "config":
            return configLine(line.text)
        case "warning":
            return warningLine(line.text)
        case "error":
            return errorLine(line.text)
        case "backlog":
            return backlogLine(line.text)
    }
}

export interface LoggedBlock {
    seq: number
    type: string
    bytes: Buffer
}

/** Feed it lines; it returns each sealed block once its last `fl:block` part has arrived. */
export class BlockLineAssembler {
    private parts: string[] = []
    private current: { seq: number; type: string; length: number; count: number } | undefined

    push(line: string): LoggedBlock | undefined {
        const parsed = parseLine(line)
        if (!parsed || parsed.kind !== "block") return undefined
        const { seq, type, bytes: length, part, parts: count } = parsed
        if (part === 1) {
            this.current = { seq, type, length, count }
            this.parts = []
        }
        const cur = this.current
        if (!cur || cur.seq !== seq || cur.count !== count || part !== this.parts.length + 1)
            throw new FormatError("device log: block part " + part + "/" + count + " of seq " + seq + " out of order")
        this.parts.push(parsed.hex)
        if (part < count) return undefined
        const bytes = fromHex(this.parts.join(""), "block " + seq)
        this.current = undefined
        if (bytes.length !== length)
            throw new FormatError("device log: block " + seq + " has " + bytes.length + " bytes, header said " + length)
        return { seq, type, bytes }
    }
}
