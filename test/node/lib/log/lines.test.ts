/**
 * The firmware's console lines (src/lib/log/lines.ts) and their parser (src/lib/log/parse.ts):
 * every kind, as the firmware printed it before the formatters existed (tests and users read
 * these lines), parses to what it says and formats back to the same text.
 */
import { describe, expect, test } from "vitest"
import { FormatError } from "../../../../src/lib/codec/bytes"
import { BlockLineAssembler, DeviceLine, formatLine, parseLine } from "../../../../src/lib/log/parse"

/** One line of every kind (and every optional part present and absent), with what it says. */
const LINES: [string, DeviceLine][] = [
    [
        "fl:block seq=4 type=data bytes=3 part=1/2 hex=0102",
        { kind: "block", seq: 4, type: "data", bytes: 3, part: 1, parts: 2, hex: "0102" },
    ],
    [
        "fl:status seq=12 backlog=3 readings=40 free_slots=27 ram=0 boot=2",
        { kind: "status", seq: 12, backlog: 3, readings: 40, freeSlots: 27, ram: 0, boot: 2 },
    ],
    [
        "fl:status seq=90 backlog=28 readings=900 free_slots=2 ram=1 boot=5 lost=1..30",
        { kind: "status", seq: 90, backlog: 28, readings: 900, freeSlots: 2, ram: 1, boot: 5, lost: { fromSeq: 1, toSeq: 30 } },
    ],
    ["fl:sync synced sent=2 ack=7 backlog=0", { kind: "sync", outcome: "synced", sent: 2, ack: 7, backlog: 0 }],
    [
        "fl:sync rejected sent=1 ack=-1 backlog=1 error=missing-blocks: send from seq 0",
        { kind: "sync", outcome: "rejected", sent: 1, ack: -1, backlog: 1, error: "missing-blocks: send from seq 0" },
    ],
    [
        "fl:sync failed sent=3 backlog=3 error=network: connect ECONNREFUSED",
        { kind: "sync", outcome: "failed", sent: 3, backlog: 3, error: "network: connect ECONNREFUSED" },
    ],
    ["fl:sync idle sent=0 backlog=0", { kind: "sync", outcome: "idle", sent: 0, backlog: 0 }],
    ["fl:sync to http://127.0.0.1:8787 every 2000 ms", { kind: "sync-to", target: "http://127.0.0.1:8787", periodMs: 2000 }],
    [
        "fl:sync to USB (fieldledger bridge on the host) every 5000 ms",
        { kind: "sync-to", target: "USB (fieldledger bridge on the host)", periodMs: 5000 },
    ],
    [
        "fl:sync off: no gateway configured (setting FL_GATEWAY); the backlog stays in flash",
        { kind: "sync-off", why: "no gateway configured (setting FL_GATEWAY); the backlog stays in flash" },
    ],
    ["fl:boot 1 new chain, backlog 1 blocks", { kind: "boot", boot: 1, created: true, backlog: 1 }],
    ["fl:boot 3 chain continues at seq 17, backlog 4 blocks", { kind: "boot", boot: 3, created: false, seq: 17, backlog: 4 }],
    ["fl:provisioned chain started under the provisioned key, which is now deleted", { kind: "provisioned" }],
    ["fl:signkey index=2 pk=" + "ab".repeat(32), { kind: "signkey", keyIndex: 2, publicKey: "ab".repeat(32) }],
    [
        "fl:fault channel=temperature kind=missing state=end detail=3 readings missing",
        { kind: "fault", channel: "temperature", fault: "missing", state: "end", detail: "3 readings missing" },
    ],
    [
        "fl:fault channel=* kind=missing state=begin detail=shtc3 driver: no ack",
        { kind: "fault", channel: "*", fault: "missing", state: "begin", detail: "shtc3 driver: no ack" },
    ],
    ["fl:tick boot=2 n=37", { kind: "tick", boot: 2, n: 37 }],
    [
        "fl:sensor board=sim sensor=sim channels=temperature,humidity,pressure",
        { kind: "sensor", text: "board=sim sensor=sim channels=temperature,humidity,pressure" },
    ],
    [
        'fl:config FL_GATEWAY is neither an http(s) URL nor "usb", using none (no sync)',
        { kind: "config", text: 'FL_GATEWAY is neither an http(s) URL nor "usb", using none (no sync)' },
    ],
    [
        "fl:warning simulator: sealing under the public development key",
        { kind: "warning", text: "simulator: sealing under the public development key" },
    ],
    ["fl:error sync: timeout", { kind: "error", text: "sync: timeout" }],
    [
        "fl:backlog full: sampling stopped until a gateway takes blocks",
        { kind: "backlog", text: "full: sampling stopped until a gateway takes blocks" },
    ],
]

describe("console lines", () => {
    test.each(LINES)("%s", (text, line) => {
        expect(parseLine(text)).toEqual(line)
        expect(formatLine(line)).toBe(text)
    })

    test("every kind is covered", () => {
        const kinds = new Set(LINES.map(([, l]) => l.kind))
        expect([...kinds].sort()).toEqual([
            "backlog",
            "block",
            "boot",
            "config",
            "error",
            "fault",
            "provisioned",
            "sensor",
            "signkey",
            "status",
            "sync",
            "sync-off",
            "sync-to",
            "tick",
            "warning",
        ])
    })

    test("lines that are not the firmware's are not read as its lines", () => {
        for (const text of [
            "",
            "WASM> fl:boot 1 new chain, backlog 1 blocks",
            "fl:sync synced sent=x backlog=0",
            "fl:unknown thing",
            "hello fl:boot",
        ])
            expect(parseLine(text)).toBeUndefined()
    })
})

describe("block parts", () => {
    test("reassembled in order; parts out of order and a wrong length are refused", () => {
        const a = new BlockLineAssembler()
        expect(a.push("fl:block seq=4 type=data bytes=3 part=1/2 hex=0102")).toBeUndefined()
        expect(a.push("fl:sync idle sent=0 backlog=0")).toBeUndefined()
        expect(a.push("fl:block seq=4 type=data bytes=3 part=2/2 hex=03")).toEqual({ seq: 4, type: "data", bytes: Buffer.from([1, 2, 3]) })
        expect(() => new BlockLineAssembler().push("fl:block seq=1 type=data bytes=1 part=2/2 hex=01")).toThrow(FormatError)
        expect(() => new BlockLineAssembler().push("fl:block seq=1 type=data bytes=2 part=1/1 hex=01")).toThrow(FormatError)
    })
})
