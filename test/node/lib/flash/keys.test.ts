/**
 * The flash keys: distinct, within the settings store's 13 characters, and spelled only in
 * src/lib/flash/keys.ts: any other file of src/ or tools/ that writes one as a string literal
 * fails here (it must import the constant).
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, test } from "vitest"
import * as keys from "../../../../src/lib/flash/keys"

const KEYS_FILE = "src/lib/flash/keys.ts"
const all = Object.entries(keys).filter(([, v]) => typeof v === "string") as [string, string][]

function files(dir: string, out: string[] = []): string[] {
    for (const entry of readdirSync(dir)) {
        if (entry === "node_modules" || entry.startsWith(".")) continue
        const path = join(dir, entry).split("\\").join("/")
        if (statSync(path).isDirectory()) files(path, out)
        else if (/\.(ts|mjs|js|cjs)$/.test(entry)) out.push(path)
    }
    return out
}

/** Where `text` spells one of the keys as a string literal (" or '; backticks quote code in comments). */
function literalsIn(text: string): string[] {
    const found: string[] = []
    for (const [, key] of all) for (const q of ['"', "'"]) if (text.includes(q + key + q)) found.push(q + key + q)
    return found
}

describe("flash keys", () => {
    test("are many, distinct and at most 13 characters (a block slot key at most 5)", () => {
        expect(all.length).toBeGreaterThanOrEqual(18)
        const values = all.map(([, v]) => v)
        expect(new Set(values).size).toBe(values.length)
        for (const [name, v] of all) expect(v.length, name).toBeLessThanOrEqual(13)
        expect((keys.BLOCK_KEY_PREFIX + "254").length).toBeLessThanOrEqual(13)
        // No key is a prefix of a block slot key: "fb" + digits belongs to the ring alone.
        for (const [name, v] of all) if (v !== keys.BLOCK_KEY_PREFIX) expect(/^fb\d/.test(v), name).toBe(false)
    })

    test("are spelled nowhere else in src/ or tools/", () => {
        const offenders: string[] = []
        for (const path of [...files("src"), ...files("tools")]) {
            if (path === KEYS_FILE) continue
            for (const lit of literalsIn(readFileSync(path, "utf8"))) offenders.push(path + ": " + lit)
        }
        expect(offenders).toEqual([])
    })

    test("the check finds a literal key", () => {
        expect(literalsIn('await kv.get("fl_head")')).toEqual(['"fl_head"'])
        expect(literalsIn("settings.get('FL_GATEWAY')")).toEqual(["'FL_GATEWAY'"])
        expect(literalsIn("the fl_head setting")).toEqual([])
    })
})
