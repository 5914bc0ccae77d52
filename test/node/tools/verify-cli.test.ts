/**
 * `fieldledger verify` as a user runs it (the bin script, a real process): exit status 0 valid,
 * 1 invalid, 2 usage or I/O error, with a message a person can act on.
 */
import { join } from "node:path"
import { describe, expect, test } from "vitest"
import { formatExport } from "../../../tools/lib/exportfile"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, DEVICE_ID, testKey } from "../helpers/chains"
import { runVerify, scratchFiles } from "./verifycli"

const { dir, file } = scratchFiles("fieldledger-verify-")
const run = runVerify
const sealed = buildChain(nodeCrypto).blocks
const blocks = sealed.map(b => b.bytes)
const KEY = testKey().toString("hex")

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
        const r = run(
            file("wrong-" + name.replace(/\W+/g, "-") + ".json", typeof doc === "string" ? doc : JSON.stringify(doc)),
            "--key",
            KEY
        )
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

    test("an export whose own head is past its last block is INVALID (exit 1), not VALID", () => {
        const last = blocks.length - 1
        // The chain's own hash of its last block (v2: over the link and the block, FORMAT.md).
        const head = { seq: last, hash: sealed[last].hash }
        const cut = file("cut-own-head.json", formatExport({ deviceId: DEVICE_ID, blocks: blocks.slice(0, -2), head }))
        const r = run(cut, "--key", KEY)
        expect(r.code, r.out).toBe(1)
        expect(r.out).toMatch(/INVALID .*known head is seq \d+ \[truncated\]/)
        // The file's head disagrees with the chain even when a trusted --head agrees with it.
        const trusted = run(cut, "--key", KEY, "--head", `${last - 2}:${nodeCrypto.sha256(blocks[last - 2]).toString("hex")}`)
        expect(trusted.code, trusted.out).toBe(1)
    })

    test("says what vouched for the end of the chain: the file's own head, --head, or nothing", () => {
        const last = blocks.length - 1
        // The chain's own hash of its last block (v2: over the link and the block, FORMAT.md).
        const head = { seq: last, hash: sealed[last].hash }
        const withHead = file("with-head.json", formatExport({ deviceId: DEVICE_ID, blocks, head }))
        const own = run(withHead, "--key", KEY)
        expect(own.code, own.out).toBe(0)
        expect(own.out).toContain(`tail      checked against the file's own head (seq ${last}): whoever wrote the file chose it`)
        const given = run(withHead, "--key", KEY, "--head", `${last}:${head.hash.toString("hex")}`, "--json")
        expect(JSON.parse(given.out).tail).toEqual({ against: "option", head: { seq: last, hash: head.hash.toString("hex") } })
        const none = run(good, "--key", KEY)
        expect(none.code).toBe(0)
        expect(none.out).toContain("tail      UNCHECKED: nothing vouches for the end of the chain")
    })

    test.each([
        ["a missing file", [join(dir, "nope.json")], /cannot read/],
        ["no file", [], /exactly one export FILE/],
        ["a short key", [good, "--key", "abcd"], /64 hex digits/],
        ["a non-hex key", [good, "--key", "zz".repeat(32)], /not a hex digit/],
        ["both key options", [good, "--key", KEY, "--key-file", good], /either --key or --key-file/],
        ["a bad --head", [good, "--head", "x"], /SEQ:HASH/],
        ["an unknown option", [good, "--frobnicate"], /unknown option --frobnicate/],
        ["a key one digit short", [good, "--key", KEY.slice(1)], /must be 64 hex digits .*got 63/],
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
