/**
 * DeviceScript 2.16.4 facts of docs/DEVICESCRIPT.md that a device suite cannot check because
 * they stop the compiler or kill the program: the parts of TypeScript the compiler refuses
 * (each construct, on a line of its own, must draw a compile error on that line), the
 * concatenation that crashes it, and the op budget of a fiber run (a loop that never suspends
 * dies with InfiniteLoop; the same loop with the yield pattern completes). Compiled and run in
 * a temporary project (devsconfig.json and a node_modules link), so no build output or flash
 * of this checkout is touched.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { runDevs } from "../../tools/lib/devs"

const REFUSED: [string, string][] = [
    ["regular expression", "const r = /ab+/"],
    ["generator", "function* g() { yield 1 }"],
    ["BigInt", "const big = 10n"],
    ["typed array", "const u8 = new Uint8Array(4)"],
    ["DataView", "const dv = new DataView(Buffer.alloc(4))"],
    ["new Promise", "const p = new Promise<number>((res: any) => res(1))"],
    ["Promise.all", "const all = Promise.all([])"],
    ["==", "if (n == 1) n++"],
    ["!=", "if (n != 1) n++"],
    ["labelled statement", "outer: for (;;) { break outer }"],
    ["toString(radix)", "const hex = (n + 255).toString(16)"],
    ["padStart", "const padded = ('' + n).padStart(5)"],
    ["replace", "const replaced = ('' + n).replace('a', 'b')"],
    ["substring", "const sub = ('' + n).substring(1)"],
    ["getter", "class C { get x() { return 1 } }"],
    ["globalThis", "const gt = globalThis"],
]

const TIMEOUT_MS = 180000
const ESC = /\x1b\[[0-9;]*m/g
let dir: string

async function build(name: string, source: string) {
    writeFileSync(join(dir, name), source)
    const { code, output } = await runDevs(["build", name], { cwd: dir, timeoutMs: TIMEOUT_MS })
    return { code, output: output.replace(ESC, "") }
}

/** A device test whose loop of 100,000 iterations (several ops each) suspends, or not. */
function loopProgram(yieldEvery4096: boolean): string {
    return [
        'import * as ds from "@devicescript/core"',
        'import { describe, test } from "@devicescript/test"',
        'describe("op budget", () => {',
        '    test("loop", async () => {',
        "        let x = 0",
        "        for (let i = 0; i < 100000; i++) {",
        "            x += i",
        yieldEvery4096 ? "            if ((i & 4095) === 0) await ds.sleep(0)" : "",
        "        }",
        '        console.log("fl:loop done " + x)',
        "    })",
        "})",
        "",
    ].join("\n")
}

async function run(name: string, source: string) {
    writeFileSync(join(dir, name), source)
    const { code, output } = await runDevs(["run", name, "--test", "--test-self-exit", "-T", "120000"], { cwd: dir, timeoutMs: TIMEOUT_MS })
    return { code, output: output.replace(ESC, "") }
}

function concatOfNumbers(count: number): string {
    return 'let a = 1\nconsole.log("x" + ' + Array(count).fill("a").join(" + ") + ")\n"
}

beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "fl-subset-"))
    writeFileSync(join(dir, "devsconfig.json"), "{}")
    symlinkSync(resolve("node_modules"), join(dir, "node_modules"), "dir")
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("DeviceScript language subset", () => {
    test(
        "the compiler refuses each construct the docs list, on its own line",
        async () => {
            const lines = ["let n = 0", ...REFUSED.map(([, code]) => code)]
            const { code, output } = await build("refused.ts", lines.join("\n") + "\n")
            expect(code).not.toBe(0)
            const errorLines = new Set([...output.matchAll(/refused\.ts:(\d+):\d+ - error/g)].map(m => Number(m[1])))
            const accepted = REFUSED.filter((_, i) => !errorLines.has(i + 2)).map(([name]) => name)
            expect(accepted).toEqual([])
        },
        TIMEOUT_MS
    )

    test(
        "a concatenation of a literal and seven numbers compiles; of eight, the compiler crashes",
        async () => {
            const seven = await build("seven.ts", concatOfNumbers(7))
            expect(seven.code).toBe(0)
            const eight = await build("eight.ts", concatOfNumbers(8))
            expect(eight.code).not.toBe(0)
            expect(eight.output).toMatch(/Assertion failed/)
        },
        TIMEOUT_MS
    )
})

describe("op budget of a fiber run", () => {
    test(
        "a loop that never suspends dies with InfiniteLoop; with `if ((i & 4095) === 0) await ds.sleep(0)` it completes",
        async () => {
            const runaway = await run("runaway.ts", loopProgram(false))
            expect(runaway.code).not.toBe(0)
            expect(runaway.output).toMatch(/InfiniteLoop/)
            expect(runaway.output).not.toMatch(/fl:loop done/)
            const yielding = await run("yielding.ts", loopProgram(true))
            expect(yielding.output).toMatch(/fl:loop done 4999950000/)
            expect(yielding.code).toBe(0)
        },
        TIMEOUT_MS
    )
})
