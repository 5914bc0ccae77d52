/**
 * start's incremental check of the blocks a device shows: at boot (and after a program restart)
 * the device shows its stored backlog again, and those blocks must be recognised, in either
 * format version, not reported as a seq seen twice.
 */
import { describe, expect, test } from "vitest"
import { ChainWatch } from "../../../tools/lib/chainwatch"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { buildChain, DEVICE_ID, testKey } from "../helpers/chains"

describe.each([1, 2])("ChainWatch, format v%i", formatVersion => {
    const chain = buildChain(nodeCrypto, { dataBlocks: 4, formatVersion }).blocks
    const watch = () => new ChainWatch(nodeCrypto, DEVICE_ID, () => testKey())

    test("checks each new block and recognises every block shown again", () => {
        const w = watch()
        for (const b of chain) expect(w.add(b.bytes)?.check).toMatchObject({ ok: true })
        for (const b of chain) expect(w.add(b.bytes), "seq " + b.seq).toBeUndefined()
    })

    test("a different block at a seq already accepted is still a failure", () => {
        const w = watch()
        for (const b of chain) w.add(b.bytes)
        const other = buildChain(nodeCrypto, { dataBlocks: 4, perBlock: 7, formatVersion }).blocks
        expect(w.add(other[2].bytes)?.check).toMatchObject({ ok: false })
    })
})
