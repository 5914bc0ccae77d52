/**
 * The firmware's console output as the devs CLI passes it on: ANSI colours and a "WASM> "
 * prefix around the `fl:` lines, stripped here before src/lib/log/parse.ts reads them.
 */
import { BlockLineAssembler, DeviceLine, LoggedBlock, parseLine } from "../../src/lib/log/parse"

export type { LoggedBlock }

const ANSI = /\x1b\[[0-9;]*m/g

export function cleanLine(line: string): string {
    return line
        .replace(ANSI, "")
        .replace(/^WASM> /, "")
        .trimEnd()
}

/** What a raw line of the devs CLI says (undefined: not one of the firmware's `fl:` lines). */
export function parseDeviceLine(rawLine: string): DeviceLine | undefined {
    return parseLine(cleanLine(rawLine))
}

/** Feed it raw lines; it returns each block once its last part has arrived. */
export class BlockLogParser {
    private readonly assembler = new BlockLineAssembler()

    push(rawLine: string): LoggedBlock | undefined {
        return this.assembler.push(cleanLine(rawLine))
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
