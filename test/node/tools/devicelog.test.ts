import { describe, expect, test } from "vitest"
import { FormatError } from "../../../src/lib/codec/bytes"
import { BlockLogParser, blocksFromLog } from "../../../tools/lib/devicelog"

describe("device log parser", () => {
    test("reassembles a block printed in parts, through ANSI colours and the WASM prefix", () => {
        const log = [
            "\x1b[95mWASM> fl:block seq=4 type=data bytes=3 part=1/2 hex=0102\x1b[0m",
            "WASM> some other line",
            "WASM> fl:block seq=4 type=data bytes=3 part=2/2 hex=03",
        ].join("\n")
        expect(blocksFromLog(log)).toEqual([{ seq: 4, type: "data", bytes: Buffer.from([1, 2, 3]) }])
    })

    test("rejects parts out of order and a length that does not match", () => {
        expect(() => new BlockLogParser().push("fl:block seq=1 type=data bytes=1 part=2/2 hex=01")).toThrow(FormatError)
        expect(() => blocksFromLog("fl:block seq=1 type=data bytes=2 part=1/1 hex=01")).toThrow(FormatError)
    })
})
