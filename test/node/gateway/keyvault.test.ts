/** Device keys at rest: AES-256-GCM under the master key, bound to the device id. */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, test } from "vitest"
import { KeyVault, KeyVaultError, loadMasterKey } from "../../../tools/gateway/keyvault"

const ID = Buffer.from("12abdd2289421234", "hex")
const OTHER = Buffer.from("12abdd2289421235", "hex")
const K0 = Buffer.alloc(32, 0xab)

describe("KeyVault", () => {
    const vault = new KeyVault(Buffer.alloc(32, 1))

    test("opens what it sealed, and the sealed bytes do not contain the key", () => {
        const sealed = vault.seal(K0, ID)
        expect(sealed.includes(K0)).toBe(false)
        expect(vault.open(sealed, ID)).toEqual(K0)
    })

    test.each([
        ["under another device id", (s: Buffer) => vault.open(s, OTHER)],
        ["under another master key", (s: Buffer) => new KeyVault(Buffer.alloc(32, 2)).open(s, ID)],
        ["with a flipped bit", (s: Buffer) => vault.open(Buffer.from(s.map((b, i) => (i === 20 ? b ^ 1 : b))), ID)],
        ["truncated", (s: Buffer) => vault.open(s.subarray(0, 20), ID)],
    ])("refuses a sealed key %s", (_, open) => {
        expect(() => open(vault.seal(K0, ID))).toThrow(KeyVaultError)
    })
})

describe("loadMasterKey", () => {
    test("prefers the environment, then the file, else creates the default file once (0600)", () => {
        const dir = mkdtempSync(join(tmpdir(), "fl-master-"))
        try {
            const file = join(dir, "sub", "gateway-master.key")
            expect(loadMasterKey({ envValue: "11".repeat(32), defaultFile: file })).toMatchObject({
                from: "FL_MASTER_KEY",
                created: false,
                key: Buffer.alloc(32, 0x11),
            })
            const created = loadMasterKey({ defaultFile: file })
            expect(created.created).toBe(true)
            expect(statSync(file).mode & 0o777).toBe(0o600)
            expect(readFileSync(file, "utf8").trim()).toBe(created.key.toString("hex"))
            expect(loadMasterKey({ defaultFile: file })).toMatchObject({ created: false, key: created.key })
            expect(loadMasterKey({ file, defaultFile: "/nonexistent" }).key).toEqual(created.key)
            expect(() => loadMasterKey({ envValue: "xyz", defaultFile: file })).toThrow(KeyVaultError)
            expect(() => loadMasterKey({ file: join(dir, "missing"), defaultFile: file })).toThrow(KeyVaultError)
        } finally {
            rmSync(dir, { recursive: true, force: true })
        }
    })
})
