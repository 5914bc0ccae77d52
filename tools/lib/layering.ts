/**
 * The house rules for imports, read from the source text (no compiler needed), so that the
 * layering test can hold the tree to them and prove on made-up trees that it catches a break.
 *
 * - `src/lib/` is pure code shared by the firmware and the Node tools: no package imports.
 * - Its folders are layers; a folder imports only itself and the layers listed for it in
 *   `LIB_LAYERS` (codec <- flash (keys, verified writes) and log (the console lines); codec <-
 *   ledger; store and sync on codec, flash, ledger and log, sync also on store; sensors on
 *   codec, ledger and log; config, the FL_* settings and the firmware's name and version, on
 *   top of them all).
 * - Firmware adapters (everything under `src/` outside `src/lib/`) run only on the device:
 *   `tools/` and `test/node/` never import them.
 * - No import cycles anywhere.
 */
import { posix } from "node:path"

/** What each `src/lib/` folder may import besides itself. */
export const LIB_LAYERS: Record<string, string[]> = {
    codec: [],
    flash: ["codec"],
    log: ["codec"],
    sign: [],
    ledger: ["codec"],
    store: ["codec", "flash", "ledger", "log"],
    sync: ["codec", "flash", "ledger", "store", "log"],
    sensors: ["codec", "ledger", "log"],
    config: ["codec", "flash", "ledger", "log", "store", "sync", "sensors"],
}

export interface SourceFile {
    /** Repository-relative path with forward slashes, e.g. `src/lib/codec/bytes.ts`. */
    path: string
    text: string
}

export interface LayeringProblem {
    rule: "package-in-lib" | "unknown-lib-folder" | "layer-upward" | "lib-imports-adapter" | "host-imports-adapter" | "cycle" | "unresolved"
    file: string
    message: string
}

const IMPORT_PATTERN =
    /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^"'`;]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g

/** The module specifiers a file imports or re-exports, in order (comments are not stripped: keep import-shaped text out of comments). */
export function importSpecifiers(text: string): string[] {
    const out: string[] = []
    for (const m of text.matchAll(IMPORT_PATTERN)) out.push(m[1] ?? m[2])
    return out
}

function resolveRelative(from: string, spec: string, known: Set<string>): string | undefined {
    const base = posix.normalize(posix.join(posix.dirname(from), spec))
    for (const candidate of [base, base + ".ts", base + ".mjs", base + ".js", base + "/index.ts"])
        if (known.has(candidate)) return candidate
    return undefined
}

function libFolder(path: string): string | undefined {
    const m = /^src\/lib\/([^/]+)\//.exec(path)
    return m ? m[1] : undefined
}

const isAdapter = (path: string) => path.startsWith("src/") && !path.startsWith("src/lib/")
const isHostSide = (path: string) => path.startsWith("tools/") || path.startsWith("test/node/")

/** Every broken rule in a set of files (the graph is the relative imports among them). */
export function checkLayering(files: SourceFile[]): LayeringProblem[] {
    const known = new Set(files.map(f => f.path))
    const problems: LayeringProblem[] = []
    const edges = new Map<string, string[]>()
    for (const file of files) {
        const targets: string[] = []
        const folder = libFolder(file.path)
        if (file.path.startsWith("src/lib/") && (folder === undefined || !(folder in LIB_LAYERS)))
            problems.push({
                rule: "unknown-lib-folder",
                file: file.path,
                message: `${file.path}: src/lib/ holds only the layer folders ${Object.keys(LIB_LAYERS).join(", ")} (add a new one to LIB_LAYERS with what it may import)`,
            })
        for (const spec of importSpecifiers(file.text)) {
            if (!spec.startsWith(".")) {
                if (folder !== undefined)
                    problems.push({
                        rule: "package-in-lib",
                        file: file.path,
                        message: `${file.path} imports the package "${spec}": src/lib/ is shared with Node and imports no package`,
                    })
                continue
            }
            const target = resolveRelative(file.path, spec, known)
            if (target === undefined) {
                problems.push({
                    rule: "unresolved",
                    file: file.path,
                    message: `${file.path} imports "${spec}", which is not a file of the tree`,
                })
                continue
            }
            targets.push(target)
            const targetFolder = libFolder(target)
            if (folder !== undefined && isAdapter(target))
                problems.push({
                    rule: "lib-imports-adapter",
                    file: file.path,
                    message: `${file.path} imports the firmware adapter ${target}: src/lib/ never depends on device code`,
                })
            if (
                folder !== undefined &&
                targetFolder !== undefined &&
                targetFolder !== folder &&
                !(LIB_LAYERS[folder] ?? []).includes(targetFolder)
            )
                problems.push({
                    rule: "layer-upward",
                    file: file.path,
                    message: `${file.path} (layer ${folder}) imports ${target} (layer ${targetFolder}); ${folder} may import only ${[folder, ...(LIB_LAYERS[folder] ?? [])].join(", ")}`,
                })
            if (isHostSide(file.path) && isAdapter(target))
                problems.push({
                    rule: "host-imports-adapter",
                    file: file.path,
                    message: `${file.path} imports the firmware adapter ${target}: Node code uses src/lib/ only`,
                })
        }
        edges.set(file.path, targets)
    }
    for (const cycle of findCycles(edges))
        problems.push({ rule: "cycle", file: cycle[0], message: `import cycle: ${[...cycle, cycle[0]].join(" -> ")}` })
    return problems
}

/** The strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function findCycles(edges: Map<string, string[]>): string[][] {
    let counter = 0
    const index = new Map<string, number>()
    const low = new Map<string, number>()
    const onStack = new Set<string>()
    const stack: string[] = []
    const cycles: string[][] = []
    const visit = (node: string) => {
        index.set(node, counter)
        low.set(node, counter)
        counter++
        stack.push(node)
        onStack.add(node)
        for (const next of edges.get(node) ?? []) {
            if (!index.has(next)) {
                visit(next)
                low.set(node, Math.min(low.get(node)!, low.get(next)!))
            } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!))
        }
        if (low.get(node) === index.get(node)) {
            const component: string[] = []
            let member: string
            do {
                member = stack.pop()!
                onStack.delete(member)
                component.push(member)
            } while (member !== node)
            if (component.length > 1 || (edges.get(node) ?? []).includes(node)) cycles.push(component.reverse())
        }
    }
    for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node)
    return cycles
}
