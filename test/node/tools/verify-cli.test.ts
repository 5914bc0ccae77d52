/**
 * `fieldledger verify` as a user runs it (the bin script, a real process): exit status 0 valid,
 * 1 invalid, 2 usage or I/O error, with a message a person can act on.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, test } from "vitest"
import { formatExport } from "../../../tools/lib/exportfile"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, DEVICE_ID, testKey } from "../helpers/chains"

const dir = mkdtempSync(join(tmpdir(), "fieldledger-verify-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const blocks = buildChain(nodeCrypto).blocks.map(b => b.bytes)
const KEY = testKey().toString("hex")

function file(name: string, text: string): string {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
}

function run(...args: string[]) {
    const r = spawnSync(process.execPath, ["bin/fieldledger.mjs", "verify", ...args], { encoding: "utf8" })
    return { code: r.status, out: r.stdout, err: r.stderr }
}

const good = file("good.json", formatExport({ deviceId: DEVICE_ID, blocks }))
const tampered = (() => {
    const copy = blocks.map(b => Buffer.from(b))
    copy[2][copy[2].length - 1] ^= 0x40 // in the tag
    return file("bad.json", formatExport({ deviceId: DEVICE_ID, blocks: copy }))
})()

describe("fieldledger verify", () => {
    test("accepts a valid export and summarises it (exit 0)", () => {
        const r = run(good, "--key", KEY)
        expect(r.code).toBe(0)
        expect(r.out).toContain("VALID")
        expect(r.out).toContain("readings  32")
    })

    test("reads the key from a file and reports JSON", () => {
        const r = run(good, "--key-file", file("k0", KEY + "\n"), "--json")
        expect(r.code).toBe(0)
        const report = JSON.parse(r.out)
        expect(report.ok).toBe(true)
        expect(report.summary.authenticated).toBe(true)
    })

    test("names the first bad block and the reason (exit 1)", () => {
        const r = run(tampered, "--key", KEY)
        expect(r.code).toBe(1)
        expect(r.out).toMatch(/INVALID at block index 2 \(seq 2\)/)
    })

    test.each([
        ["an odd-length block string", { format: "fieldledger-export", version: 1, deviceId: "12abdd2289421234", blocks: ["abc"] }],
        ["a non-hex block string", { format: "fieldledger-export", version: 1, deviceId: "12abdd2289421234", blocks: ["zz"] }],
        ["a block over 200 bytes", { format: "fieldledger-export", version: 1, deviceId: "12abdd2289421234", blocks: ["00".repeat(201)] }],
        ["another format", { format: "other", version: 1, deviceId: "12abdd2289421234", blocks: [] }],
        ["another version", { format: "fieldledger-export", version: 9, deviceId: "12abdd2289421234", blocks: [] }],
        ["not JSON", "{nope"],
    ])("a readable export file that is wrong (%s) is invalid: exit 1, not a usage error (FORMAT.md, 'Export file')", (name, doc) => {
        const r = run(file("wrong-" + name.replace(/\W+/g, "-") + ".json", typeof doc === "string" ? doc : JSON.stringify(doc)), "--key", KEY)
        expect(r.code).toBe(1)
        expect(r.out).toContain("INVALID export file")
    })

    test("says plainly that nothing is authenticated without a key", () => {
        const r = run(good)
        expect(r.code).toBe(0)
        expect(r.out).toContain("NOT authenticated")
    })

    test("catches a cut-off tail against a known head (exit 1)", () => {
        const head = blocks[blocks.length - 1]
        const cut = file("cut.json", formatExport({ deviceId: DEVICE_ID, blocks: blocks.slice(0, -1) }))
        const r = run(cut, "--key", KEY, "--head", `${blocks.length - 1}:${nodeCrypto.sha256(head).toString("hex")}`)
        expect(r.code).toBe(1)
        expect(r.out).toContain("[truncated]")
    })

    test.each([
        ["a missing file", [join(dir, "nope.json")], /cannot read/],
        ["no file", [], /exactly one export FILE/],
        ["a short key", [good, "--key", "abcd"], /32 bytes/],
        ["a non-hex key", [good, "--key", "zz".repeat(32)], /not a hex digit/],
        ["both key options", [good, "--key", KEY, "--key-file", good], /either --key or --key-file/],
        ["a bad --head", [good, "--head", "x"], /SEQ:HASH/],
        ["an unknown option", [good, "--frobnicate"], /Unknown option/],
    ])("refuses %s with a usage error (exit 2)", (_name, args, message) => {
        const r = run(...(args as string[]))
        expect(r.code).toBe(2)
        expect(r.err).toMatch(message as RegExp)
    })

    test("explains itself with --help", () => {
        const r = run("--help")
        expect(r.code).toBe(0)
        expect(r.out).toContain("Exit status: 0 valid, 1 invalid, 2 usage or I/O error")
    })
})
