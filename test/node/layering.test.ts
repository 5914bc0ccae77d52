import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { checkLayering, importSpecifiers, SourceFile } from "../../tools/lib/layering"

function sourceFiles(dir: string, out: SourceFile[] = []): SourceFile[] {
    for (const entry of readdirSync(dir)) {
        const path = join(dir, entry).split("\\").join("/")
        if (entry === "node_modules" || entry.startsWith(".")) continue
        if (statSync(path).isDirectory()) sourceFiles(path, out)
        else if (/\.(ts|mjs|js)$/.test(entry)) out.push({ path, text: readFileSync(path, "utf8") })
    }
    return out
}

// This file's own examples of illegal imports are text, not imports of the tree.
const tree = () =>
    [...sourceFiles("src"), ...sourceFiles("tools"), ...sourceFiles("test")].filter(f => f.path !== "test/node/layering.test.ts")
const rulesOf = (files: SourceFile[]) => checkLayering(files).map(p => p.rule)

describe("the repository's imports", () => {
    it("keep every layering rule", () => {
        expect(checkLayering(tree()).map(p => p.message)).toEqual([])
    })
})

describe("the layering check", () => {
    const base: SourceFile[] = [
        { path: "src/lib/codec/bytes.ts", text: "export const x = 1\n" },
        { path: "src/lib/ledger/chain.ts", text: 'import { x } from "../codec/bytes"\n' },
        { path: "src/lib/store/chainstore.ts", text: 'import { x } from "../ledger/chain"\n' },
        { path: "src/device/device.ts", text: 'import * as ds from "@devicescript/core"\nimport "../lib/store/chainstore"\n' },
        { path: "tools/verify.ts", text: 'import { x } from "../src/lib/ledger/chain"\n' },
    ]
    const withFile = (file: SourceFile) => [...base.filter(f => f.path !== file.path), file]

    it("accepts a tree that keeps the rules", () => {
        expect(rulesOf(base)).toEqual([])
    })

    it.each([
        [
            "a package import in src/lib",
            { path: "src/lib/codec/bytes.ts", text: 'import * as ds from "@devicescript/core"\n' },
            "package-in-lib",
        ],
        [
            "a lower layer importing a higher one",
            { path: "src/lib/codec/bytes.ts", text: 'import { y } from "../store/chainstore"\n' },
            "layer-upward",
        ],
        ["sensors importing store", { path: "src/lib/sensors/kinds.ts", text: 'import "../store/chainstore"\n' }, "layer-upward"],
        [
            "src/lib importing a firmware adapter",
            { path: "src/lib/store/extra.ts", text: 'export * from "../../device/device"\n' },
            "lib-imports-adapter",
        ],
        [
            "a tool importing a firmware adapter",
            { path: "tools/start.ts", text: 'import { startDevice } from "../src/device/device"\n' },
            "host-imports-adapter",
        ],
        [
            "a Node test importing a firmware adapter",
            { path: "test/node/x.test.ts", text: 'import type { Cfg } from "../../src/device/device"\n' },
            "host-imports-adapter",
        ],
        ["a file straight in src/lib", { path: "src/lib/loose.ts", text: "" }, "unknown-lib-folder"],
        ["an import of a file that is not there", { path: "tools/x.ts", text: 'import "./missing"\n' }, "unresolved"],
    ])("refuses %s", (_name, file, rule) => {
        expect(rulesOf(withFile(file))).toContain(rule)
    })

    it("refuses an import cycle and names its files", () => {
        const problems = checkLayering([
            ...base,
            { path: "tools/gateway/app.ts", text: 'import { mount } from "./routes"\n' },
            { path: "tools/gateway/routes.ts", text: 'import type { App } from "./app"\n' },
        ])
        expect(problems.map(p => p.message)).toEqual([
            "import cycle: tools/gateway/app.ts -> tools/gateway/routes.ts -> tools/gateway/app.ts",
        ])
    })

    it("reads every form of import and re-export", () => {
        const text = [
            'import a from "./a"',
            'import { b } from "./b"',
            'import type { C } from "./c"',
            'export { d } from "./d"',
            'export * from "./e"',
            'import "./f"',
            'const g = await import("./g")',
            'import {\n  h,\n} from "./h"',
        ].join("\n")
        expect(importSpecifiers(text)).toEqual(["./a", "./b", "./c", "./d", "./e", "./f", "./g", "./h"])
    })
})
