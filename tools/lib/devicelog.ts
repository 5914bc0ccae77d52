/**
 * Parses the firmware's console output (src/device/blockprinter.ts): reassembles each sealed block
 * from its `fl:block ... part=i/n hex=...` lines. Lines come through the devs CLI with ANSI
 * colours and a "WASM> " prefix, both stripped here.
 */
import { FormatError, fromHex } from "../../src/lib/codec/bytes"

export interface LoggedBlock {
    seq: number
    type: string
    bytes: Buffer
}

const ANSI = /\x1b\[[0-9;]*m/g
const BLOCK_LINE = /fl:block seq=(\d+) type=(\w+) bytes=(\d+) part=(\d+)\/(\d+) hex=([0-9a-f]*)$/

export function cleanLine(line: string): string {
    return line.replace(ANSI, "").replace(/^WASM> /, "").trimEnd()
}

/** Feed it lines; it returns each block once its last part has arrived. */
export class BlockLogParser {
    private parts: string[] = []
    private current: { seq: number; type: string; length: number; count: number } | undefined

    push(rawLine: string): LoggedBlock | undefined {
        const m = BLOCK_LINE.exec(cleanLine(rawLine))
        if (!m) return undefined
        const [seq, type, length, part, count] = [Number(m[1]), m[2], Number(m[3]), Number(m[4]), Number(m[5])]
        if (part === 1) {
            this.current = { seq, type, length, count }
            this.parts = []
        }
        const cur = this.current
        if (!cur || cur.seq !== seq || cur.count !== count || part !== this.parts.length + 1)
            throw new FormatError("device log: block part " + part + "/" + count + " of seq " + seq + " out of order")
        this.parts.push(m[6])
        if (part < count) return undefined
        const bytes = fromHex(this.parts.join(""), "block " + seq)
        this.current = undefined
        if (bytes.length !== length) throw new FormatError("device log: block " + seq + " has " + bytes.length + " bytes, header said " + length)
        return { seq, type, bytes }
    }
}

/** Every complete block in a captured log. */
export function blocksFromLog(text: string): LoggedBlock[] {
    const parser = new BlockLogParser()
    const blocks: LoggedBlock[] = []
    for (const line of text.split("\n")) {
        const b = parser.push(line)
        if (b) blocks.push(b)
    }
    return blocks
}
