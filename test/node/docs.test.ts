/**
 * The documentation agrees with the repository it describes:
 * - nothing cites design notes kept outside the repository (docs/DEVICESCRIPT.md holds the
 *   platform facts now);
 * - the flashing commands of docs/BOARDS.md and docs/PROVISIONING.md bundle each board's own
 *   entry and flash exactly the image that bundle wrote, and the two docs give the same ones
 *   (a technician once flashed the runtime alone and looped on "does not run fieldledger
 *   firmware");
 * - the README's Layout table names every folder of src/, tools/ and test/, and nothing else
 *   that does not exist.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { describe, expect, test } from "vitest"
import { devsCliPath } from "../../tools/lib/devs"

const THIS_FILE = "test/node/docs.test.ts"

/** Tracked files and new ones not ignored: what a commit would carry. */
function repositoryFiles(): string[] {
    return execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { encoding: "utf8" })
        .split("\n")
        .filter(f => f !== "" && existsSync(f) && statSync(f).isFile())
}

describe("no citation of notes outside the repository", () => {
    test("no file mentions DESIGN.md, shared/DESIGN or ../shared/", () => {
        const citing = repositoryFiles()
            .filter(f => f !== THIS_FILE)
            .filter(f => {
                const text = readFileSync(f)
                return !text.includes(0) && /DESIGN\.md|shared\/DESIGN|\.\.\/shared\//.test(text.toString("utf8"))
            })
        expect(citing).toEqual([])
    })
})

interface BundleCommand {
    board: string
    entry: string
    image: string
}

interface FlashCommand {
    family: string
    board: string
    image: string
}

/** The value after `--name` in a command's words, or undefined. */
function option(words: string[], name: string): string | undefined {
    const i = words.indexOf(name)
    return i >= 0 ? words[i + 1] : undefined
}

/** The lines of a markdown text's fenced code blocks. */
function codeLines(markdown: string): string[] {
    const lines: string[] = []
    let inCode = false
    for (const line of markdown.split("\n")) {
        if (/^\s*```/.test(line)) inCode = !inCode
        else if (inCode) lines.push(line)
    }
    return lines
}

/** The `devs bundle` and `devs flash` command lines of a markdown text's code blocks, comments dropped. */
function flashingCommands(markdown: string): { lines: string[]; bundles: BundleCommand[]; flashes: FlashCommand[] } {
    const lines = codeLines(markdown)
        .map(l => l.replace(/#.*$/, "").trim().replace(/\s+/g, " "))
        .filter(l => /\bdevs (bundle|flash)\b/.test(l))
    const bundles: BundleCommand[] = []
    const flashes: FlashCommand[] = []
    for (const line of lines) {
        const words = line.split(" ")
        const at = words.indexOf("devs")
        if (words[at + 1] === "bundle") {
            bundles.push({
                board: option(words, "--board") ?? "",
                entry: words.find(w => w.endsWith(".ts")) ?? "",
                image: option(words, "--flash-file") ?? "",
            })
        } else {
            const family = words[at + 2]?.startsWith("-") ? "" : (words[at + 2] ?? "")
            flashes.push({ family, board: option(words, "--board") ?? "", image: option(words, "--file") ?? "" })
        }
    }
    return { lines, bundles, flashes }
}

const BOARDS = readdirSync("boards")
    .filter(f => f.endsWith(".board.json"))
    .map(f => f.replace(/\.board\.json$/, ""))

function archOf(board: string): string {
    return JSON.parse(readFileSync(join("boards", board + ".board.json"), "utf8")).archId
}

/** The address each ESP32 arch's runtime image is written at, from the CLI's own arch table. */
function esp32Offsets(): Map<string, string> {
    const cli = readFileSync(join(dirname(devsCliPath()), "built", "devicescript-cli.cjs"), "utf8")
    const offsets = new Map<string, string>()
    for (const m of cli.matchAll(/download\/devicescript-([a-z0-9]+)-[a-z0-9_]+-(0x[0-9a-f]+)\.bin"/g)) offsets.set(m[1], m[2])
    return offsets
}

/** What is wrong with a doc's flashing commands (empty when nothing is). */
function flashingProblems(
    doc: string,
    markdown: string,
    boards: string[],
    archOf: (board: string) => string,
    offsets: Map<string, string>
): string[] {
    const { bundles, flashes } = flashingCommands(markdown)
    const problems: string[] = []
    for (const b of bundles) {
        const where = `${doc}: devs bundle --board ${b.board}`
        if (!boards.includes(b.board)) {
            problems.push(`${where}: no boards/${b.board}.board.json`)
            continue
        }
        if (!/^src\/main_\w+\.ts$/.test(b.entry) || !existsSync(b.entry))
            problems.push(`${where}: its entry ${b.entry || "(none)"} is not a board entry src/main_<board>.ts that exists`)
        else if (!readFileSync(b.entry, "utf8").includes(`"@dsboard/${b.board}"`))
            problems.push(`${where}: ${b.entry} does not take its pins from @dsboard/${b.board}`)
        const arch = archOf(b.board)
        if (arch.startsWith("rp2040") && !b.image.endsWith(".uf2"))
            problems.push(`${where}: an RP2040 image is a .uf2, not ${b.image || "(none)"}`)
        if (arch.startsWith("esp32") && !b.image.endsWith(`-${offsets.get(arch)}.bin`))
            problems.push(
                `${where}: an ${arch} image must end in -${offsets.get(arch)}.bin (its flash address), not ${b.image || "(none)"}`
            )
    }
    for (const f of flashes) {
        const where = `${doc}: devs flash ${f.family} --board ${f.board}`
        if (!f.image) {
            problems.push(`${where}: no --file: it writes the runtime alone, without the program`)
            continue
        }
        if (!bundles.some(b => b.board === f.board && b.image === f.image))
            problems.push(`${where}: ${f.image} is not the image a devs bundle of that board writes`)
        if (boards.includes(f.board)) {
            const family = archOf(f.board).startsWith("esp32") ? "esp32" : "rp2040"
            if (f.family !== family) problems.push(`${where}: the board's flash family is ${family}`)
        }
    }
    for (const board of boards) {
        if (!bundles.some(b => b.board === board)) problems.push(`${doc}: no devs bundle for board ${board}`)
        if (!flashes.some(f => f.board === board)) problems.push(`${doc}: no devs flash for board ${board}`)
    }
    return problems
}

describe("flashing commands in docs/BOARDS.md and docs/PROVISIONING.md", () => {
    const offsets = esp32Offsets()
    const boardsDoc = readFileSync("docs/BOARDS.md", "utf8")
    const provisioningDoc = readFileSync("docs/PROVISIONING.md", "utf8")

    test("the CLI's arch table gives a flash address for every ESP32 board here", () => {
        for (const board of BOARDS.filter(b => archOf(b).startsWith("esp32"))) expect(offsets.get(archOf(board))).toMatch(/^0x[0-9a-f]+$/)
    })

    test.each([
        ["docs/BOARDS.md", boardsDoc],
        ["docs/PROVISIONING.md", provisioningDoc],
    ])("%s bundles each board's entry and flashes the image it wrote", (doc, markdown) => {
        expect(flashingProblems(doc, markdown, BOARDS, archOf, offsets)).toEqual([])
    })

    test("docs/PROVISIONING.md gives the very commands of docs/BOARDS.md", () => {
        expect(flashingCommands(provisioningDoc).lines.sort()).toEqual(flashingCommands(boardsDoc).lines.sort())
    })

    test.each([
        ["a runtime-only flash", "npm run build && npx devs flash esp32 --board fl_xiao_esp32c3", /no --file/],
        [
            "the simulator's entry",
            "npx devs bundle --board fl_pico --flash-file a.uf2 src/main.ts\nnpx devs flash rp2040 --board fl_pico --file a.uf2",
            /not a board entry/,
        ],
        [
            "another board's entry",
            "npx devs bundle --board fl_pico --flash-file a.uf2 src/main_pico_w.ts\nnpx devs flash rp2040 --board fl_pico --file a.uf2",
            /@dsboard\/fl_pico$/,
        ],
        ["an entry that does not exist", "npx devs bundle --board fl_pico --flash-file a.uf2 src/main_nano.ts", /not a board entry/],
        ["a board file that does not exist", "npx devs bundle --board fl_nano --flash-file a.uf2 src/main_pico.ts", /no boards\/fl_nano/],
        [
            "a file no bundle wrote",
            "npx devs bundle --board fl_pico --flash-file a.uf2 src/main_pico.ts\nnpx devs flash rp2040 --board fl_pico --file b.uf2",
            /not the image/,
        ],
        [
            "the wrong flash family",
            "npx devs bundle --board fl_pico --flash-file a.uf2 src/main_pico.ts\nnpx devs flash esp32 --board fl_pico --file a.uf2",
            /family is rp2040/,
        ],
        [
            "an ESP32 image without its address",
            "npx devs bundle --board fl_xiao_esp32c3 --flash-file a.bin src/main_xiao_esp32c3.ts",
            /must end in -0x/,
        ],
        ["an RP2040 image that is not a UF2", "npx devs bundle --board fl_pico --flash-file a.bin src/main_pico.ts", /\.uf2/],
    ])("catches %s", (_, markdown, message) => {
        const problems = flashingProblems(
            "doc",
            "```sh\n" + markdown + "\n```",
            ["fl_pico", "fl_pico_w", "fl_xiao_esp32c3"].filter(b => BOARDS.includes(b)),
            archOf,
            offsets
        )
        expect(problems.some(p => message.test(p))).toBe(true)
    })
})

/** Folders holding a file a commit would carry, under the given top folders (dot-folders excluded). */
function foldersUnder(files: string[], tops: string[]): string[] {
    const folders = new Set<string>()
    for (const file of files) {
        const parts = file.split("/")
        if (!tops.includes(parts[0]) || parts.some(p => p.startsWith(".") || p === "node_modules")) continue
        for (let n = 1; n < parts.length; n++) folders.add(parts.slice(0, n).join("/") + "/")
    }
    return [...folders].sort()
}

/** The first-column paths of the README's Layout table. */
function layoutPaths(readme: string): string[] {
    const section = readme.split(/^## /m).find(s => s.startsWith("Layout\n")) ?? ""
    return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map(m => m[1])
}

describe("README Layout table", () => {
    const paths = layoutPaths(readFileSync("README.md", "utf8"))

    test("names every folder of src/, tools/ and test/", () => {
        const missing = foldersUnder(repositoryFiles(), ["src", "tools", "test"]).filter(f => f !== "test/" && !paths.includes(f))
        expect(missing).toEqual([])
    })

    test("names only folders and files that exist, each once", () => {
        expect(paths.length).toBeGreaterThan(10)
        const absent = paths.filter(p => (p.endsWith("/") ? !existsSync(p) || !statSync(p).isDirectory() : !existsSync(p)))
        expect(absent).toEqual([])
        expect(paths.filter((p, i) => paths.indexOf(p) !== i)).toEqual([])
    })
})
