/**
 * `fieldledger verify --data-key` on the golden encrypted chain (test/vectors/golden-encrypted.json,
 * written by an independent encoder): the owner's key file decrypts every reading; without it the
 * chain still verifies and the report says the values are encrypted; a wrong key is refused.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, test } from "vitest"
import { formatExport } from "../../../tools/lib/exportfile"

const golden = JSON.parse(readFileSync("test/vectors/golden-encrypted.json", "utf8"))
const dir = mkdtempSync(join(tmpdir(), "fieldledger-verify-datakey-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, text: string): string {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
}

function run(...args: string[]) {
    const r = spawnSync(process.execPath, ["bin/fieldledger.mjs", "verify", ...args], { encoding: "utf8" })
    return { code: r.status, out: r.stdout, err: r.stderr }
}

const exportFile = file(
    "chain.json",
    formatExport({
        deviceId: Buffer.from(golden.deviceId, "hex"),
        blocks: golden.chain.map((v: { block: string }) => Buffer.from(v.block, "hex")),
    })
)
const dataKeyFile = file("data.key", golden.dataKey0 + "\n")
const keyFile = file("k0.key", golden.key0 + "\n")
/** The readings the generator encrypted, as physical values (exponents -2, -1, -1). */
const expected: (number | null)[][] = golden.chain
    .filter((v: { readings?: unknown }) => v.readings)
    .flatMap((v: { readings: (number | null)[][] }) =>
        v.readings.map(r => r.map((x, c) => (x === null ? null : Number((x * [0.01, 0.1, 0.1][c]).toPrecision(12)))))
    )

describe("fieldledger verify --data-key", () => {
    test("decrypts every encrypted reading to the values the encoder was given (JSON)", () => {
        const r = run(exportFile, "--key-file", keyFile, "--data-key", dataKeyFile, "--json")
        expect(r.code, r.err).toBe(0)
        const doc = JSON.parse(r.out)
        expect(doc.ok).toBe(true)
        expect(doc.readings.map((x: { values: (number | null)[] }) => x.values)).toEqual(expected)
    })

    test("prints the readings as CSV after the report", () => {
        const r = run(exportFile, "--data-key", dataKeyFile)
        expect(r.code, r.err).toBe(0)
        expect(r.out).toContain("decrypted 4 encrypted blocks")
        expect(r.out).toContain("\n1,1,2000,1767225600,21.5,45.5,1013.2\n")
        expect(r.out).toContain("\n1,1,62000,1767225660,21.61,,1013.1\n")
    })

    test("without the data key: verified, counted, values not shown", () => {
        const r = run(exportFile, "--key-file", keyFile)
        expect(r.code, r.err).toBe(0)
        expect(r.out).toContain("VALID")
        expect(r.out).toContain("4 data blocks with encrypted readings")
        expect(r.out).not.toContain("21.5")
    })

    test("a wrong data key is refused (exit 1), not printed as readings", () => {
        const wrong = file("wrong.key", golden.key0 + "\n")
        const r = run(exportFile, "--data-key", wrong)
        expect(r.code).toBe(1)
        expect(r.out).toContain("does not decrypt under this data key")
    })

    test("a data key file that is not 64 hex digits is a usage error (exit 2)", () => {
        const r = run(exportFile, "--data-key", file("bad.key", "not a key"))
        expect(r.code).toBe(2)
    })
})
