/**
 * The facts the firmware and the tools must agree on, each shown to come from one definition
 * (issue 12): the FL_* settings table, record-type names, fixed-point values, device ids, keys
 * as hex, gateway URLs, the sync path and the firmware version. The device side of the same
 * cases runs in test/device/config.test.ts (test/fixtures/settingcases.ts is shared).
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, test } from "vitest"
import {
    ChannelSpec,
    MAX_VERSION_BYTES,
    RECORD_CHECKPOINT,
    RECORD_DATA,
    RECORD_GAP,
    RECORD_GENESIS,
    RECORD_NAMES,
} from "../../src/lib/codec/format"
import { fromFixedPoint } from "../../src/lib/codec/fixedpoint"
import { isDeviceIdHex, parseKeyHex } from "../../src/lib/codec/hexids"
import { FIRMWARE_NAME, FIRMWARE_VERSION } from "../../src/lib/config/firmware"
import { settingDefault, settingProblem, SETTINGS } from "../../src/lib/config/settings"
import { decodeBlock, newChainHead } from "../../src/lib/ledger/chain"
import { Ledger } from "../../src/lib/ledger/ledger"
import { ChainStore } from "../../src/lib/store/chainstore"
import { isGatewayUrl, syncPath, syncUrl } from "../../src/lib/sync/gatewayurl"
import { parseMasterKey } from "../../tools/gateway/keyvault"
import { deviceIdOption, gatewayOption, parseCommandLine } from "../../tools/lib/args"
import { bridgeRound } from "../../tools/lib/bridge"
import { nodeCrypto } from "../../tools/lib/crypto"
import {
    CONFIG_SETTINGS,
    FIRMWARE_PROGRAM_NAME,
    parseSetting,
    PENDING_FORMAT,
    ProvisionConfig,
    readDeviceState,
    readPendingFile,
    settingValue,
    validateConfig,
    writeConfig,
} from "../../tools/lib/provisioning"
import { DEVICE_ID_CASES, GATEWAY_URL_CASES, settingCases } from "../fixtures/settingcases"
import { buildChain, DEVICE_ID, testKey } from "./helpers/chains"
import { ADMIN_TOKEN, batch, get, ID, openGateway, post, registerTestDevice, removeDir, TestGateway } from "./gateway/helpers"
import { FakeDevice, FAKE_ID } from "./provision/fakedevice"

const PACKAGE = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"))

/** The ProvisionConfig field that writes a setting, if provisioning writes it. */
function fieldOf(key: string): keyof ProvisionConfig | undefined {
    return (Object.keys(CONFIG_SETTINGS) as (keyof ProvisionConfig)[]).find(f => CONFIG_SETTINGS[f].key === key)
}

describe("the FL_* settings: one table for the firmware's reading and the tools' validation", () => {
    const cases = settingCases()

    test("every setting has a key the settings service takes, a JSON type, defaults it accepts, and limits", () => {
        for (const s of SETTINGS) {
            expect(s.key).toMatch(/^FL_[A-Z_]{1,10}$/) // at most 13 characters: @devicescript/settings' MAX_KEY_SIZE
            expect(typeof s.hardware).toBe(s.type)
            expect(typeof s.simulator).toBe(s.type)
            expect(settingProblem(s, settingDefault(s, false))).toBeUndefined()
            expect(settingProblem(s, settingDefault(s, true))).toBeUndefined()
            if (s.type === "number") expect(s.min! <= s.max!).toBe(true)
            else expect(typeof s.check).toBe("function")
        }
        expect(new Set(SETTINGS.map(s => s.key)).size).toBe(SETTINGS.length)
    })

    test.each(cases.map(c => [c.setting.key, JSON.stringify(c.value), c.accepted, c] as const))(
        "%s = %s: accepted %s",
        (_key, _text, accepted, c) => {
            expect(settingProblem(c.setting, c.value) === undefined).toBe(accepted)
        }
    )

    test("provisioning writes settings of the table, the very objects the firmware reads", () => {
        for (const s of Object.values(CONFIG_SETTINGS)) expect(SETTINGS).toContain(s)
    })

    test("provisioning refuses exactly what the firmware ignores, over every case of every setting it writes", async () => {
        let checked = 0
        for (const c of cases) {
            const field = fieldOf(c.setting.key)
            if (!field) continue
            checked++
            const config = { [field]: c.value } as ProvisionConfig
            if (!c.accepted) {
                expect(() => validateConfig(config), c.setting.key + "=" + JSON.stringify(c.value)).toThrow(c.setting.key)
                continue
            }
            // Accepted: written as the JSON the firmware's readJsonSetting parses, and that value passes the firmware's check.
            const d = new FakeDevice()
            await writeConfig(d.settings, config)
            const stored = parseSetting(await d.kv.get(c.setting.key))
            expect(stored).toEqual(c.value)
            expect(settingProblem(c.setting, stored)).toBeUndefined()
        }
        expect(checked).toBeGreaterThan(20)
    })

    test("the device state lists every setting of the table", async () => {
        const d = new FakeDevice()
        for (const s of SETTINGS) await d.kv.set(s.key, settingValue(settingDefault(s, false)))
        const state = await readDeviceState(d.settings, nodeCrypto, FAKE_ID)
        expect(Object.keys(state.config).sort()).toEqual(SETTINGS.map(s => s.key).sort())
    })
})

describe("record-type names: one list next to the record constants", () => {
    test("each record type's number names it", () => {
        expect([
            RECORD_NAMES[RECORD_GENESIS],
            RECORD_NAMES[RECORD_DATA],
            RECORD_NAMES[RECORD_GAP],
            RECORD_NAMES[RECORD_CHECKPOINT],
        ]).toEqual(["genesis", "data", "gap", "checkpoint"])
        expect(RECORD_NAMES).toHaveLength(4)
    })

    test("the gateway's block list names every stored block by it", async () => {
        const gw = await openGateway()
        try {
            const chain = buildChain(nodeCrypto, { dataBlocks: 2, perBlock: 3, gap: true })
            await registerTestDevice(gw)
            expect((await post(gw, batch(chain.blocks))).status).toBe(200)
            const { body } = await get(gw, syncPath(ID))
            expect(body.blocks.map((b: { type: string }) => b.type)).toEqual(
                chain.blocks.map(b => RECORD_NAMES[decodeBlock(b.bytes).header.type])
            )
            expect(body.blocks.map((b: { type: string }) => b.type)).toContain("gap")
        } finally {
            await gw.close()
            removeDir(gw.dir)
        }
    })
})

describe("fixed-point values: the gateway converts with the codec's fromFixedPoint", () => {
    test("every value the gateway serves is fromFixedPoint of the sealed integer, for negative, zero and positive exponents", async () => {
        const channels: ChannelSpec[] = [
            { name: "t", unit: "degC", exponent: -3 },
            { name: "n", unit: "count", exponent: 0 },
            { name: "p", unit: "Pa", exponent: 2 },
        ]
        const ledger = new Ledger(nodeCrypto, DEVICE_ID, channels, newChainHead(testKey()), { intervalMs: 1000, maxReadingsPerBlock: 4 })
        const blocks = [ledger.sealGenesis({ boot: 0, uptimeMs: 0 }, "test/1", "sim")]
        const sealed: number[][] = []
        for (let i = 0; i < 8; i++) {
            const reading = [21337 - i * 1001, i - 3, 1013 + i * 7]
            sealed.push(reading)
            blocks.push(...ledger.append(reading, { boot: 0, uptimeMs: 1000 * (i + 1) }))
        }
        const gw = await openGateway()
        try {
            await registerTestDevice(gw)
            expect((await post(gw, batch(blocks))).status).toBe(200)
            const { body } = await get(gw, "/v1/devices/" + ID + "/readings")
            expect(body.readings.map((r: { values: number[] }) => r.values)).toEqual(
                sealed.map(r => r.map((x, c) => fromFixedPoint(x, channels[c].exponent)))
            )
        } finally {
            await gw.close()
            removeDir(gw.dir)
        }
    })
})

/** A pending file (tools/lib/provisioning.ts) with one registration, written as given. */
function writePendingFile(file: string, deviceId: string, key0: string) {
    const registration = { deviceId, key0, gateway: "http://gw:8787", createdAt: "2026-01-01T00:00:00Z" }
    writeFileSync(file, JSON.stringify({ format: PENDING_FORMAT, version: 1, registrations: [registration] }))
}

describe("device ids: one rule (16 lower-case hex digits) for the command line, the gateway and the pending file", () => {
    let gw: TestGateway
    let dir: string
    beforeEach(async () => {
        gw = await openGateway()
        dir = mkdtempSync(join(tmpdir(), "fl-facts-"))
    })
    afterEach(async () => {
        await gw.close()
        removeDir(gw.dir)
        rmSync(dir, { recursive: true, force: true })
    })

    test.each(DEVICE_ID_CASES)("%j: accepted %s everywhere", async (id, accepted) => {
        expect(isDeviceIdHex(id)).toBe(accepted)
        const cli = parseCommandLine(["--device", id], { device: { type: "string" } })
        if (accepted) expect(deviceIdOption(cli, "device")).toBe(id)
        else expect(() => deviceIdOption(cli, "device")).toThrow(/16 lower-case hex digits/)
        const r = await gw.app.request("/v1/devices", {
            method: "POST",
            body: JSON.stringify({ deviceId: id, key0: "11".repeat(32) }),
            headers: { "content-type": "application/json", authorization: "Bearer " + ADMIN_TOKEN },
        })
        expect(r.status).toBe(accepted ? 201 : 400)
        const file = join(dir, "pending.json")
        writePendingFile(file, id, "11".repeat(32))
        if (accepted) expect(readPendingFile(file).registrations).toHaveLength(1)
        else expect(() => readPendingFile(file)).toThrow(/malformed/)
    })
})

describe("keys as hex: either case on input, one parser, lower case out", () => {
    const key = randomBytes(32)
    const lower = key.toString("hex")
    const upper = lower.toUpperCase()

    test("parseKeyHex reads both cases to the same bytes and refuses anything else", () => {
        expect(parseKeyHex(lower, "k").equals(key)).toBe(true)
        expect(parseKeyHex(upper, "k").equals(key)).toBe(true)
        expect(() => parseKeyHex(lower.slice(2), "k")).toThrow(/32 bytes/)
        expect(() => parseKeyHex("zz" + lower.slice(2), "k")).toThrow(/not a hex digit/)
        expect(() => parseKeyHex(" " + lower.slice(1), "k")).toThrow(/not a hex digit/)
    })

    test("the gateway's master key, its registration and the pending file take an upper-case key as the same key", async () => {
        expect(parseMasterKey(upper + "\n", "master key").equals(key)).toBe(true)
        const gw = await openGateway()
        const dir = mkdtempSync(join(tmpdir(), "fl-facts-"))
        try {
            const chain = buildChain(nodeCrypto, { key, dataBlocks: 1, perBlock: 2 })
            await gw.service.register({ deviceId: ID, key0: upper })
            // The chain sealed under the key verifies: the gateway holds its bytes, not its spelling.
            expect((await post(gw, batch(chain.blocks))).status).toBe(200)
            const file = join(dir, "pending.json")
            writePendingFile(file, ID, upper)
            expect(readPendingFile(file).registrations[0].key0).toBe(upper)
        } finally {
            await gw.close()
            removeDir(gw.dir)
            rmSync(dir, { recursive: true, force: true })
        }
    })
})

describe("gateway URLs: one rule for the firmware's FL_GATEWAY, provisioning, the bridge and start", () => {
    test.each(GATEWAY_URL_CASES)("%j: accepted %s everywhere", (url, accepted) => {
        expect(isGatewayUrl(url)).toBe(accepted)
        // The command line's --gateway (provision, register, bridge).
        const cli = parseCommandLine(["--gateway", url], { gateway: { type: "string" } })
        if (accepted) expect(gatewayOption(cli, "gateway")).toBe(url)
        else expect(() => gatewayOption(cli, "gateway")).toThrow(/gateway URL/)
        // The device's FL_GATEWAY as provisioning (and start) write it; "" and "usb" are settings, not URLs.
        const asSetting = url === "" || url === "usb" ? true : accepted
        if (asSetting) expect(() => validateConfig({ gatewayUrl: url })).not.toThrow()
        else expect(() => validateConfig({ gatewayUrl: url })).toThrow(/FL_GATEWAY/)
    })
})

describe("the sync path: one builder for the firmware, the bridge and the gateway's route", () => {
    test("trailing slashes go; the path and the backlog query follow", () => {
        expect(syncUrl("http://gw:8787", "0123456789abcdef", 3)).toBe("http://gw:8787/v1/devices/0123456789abcdef/blocks?backlog=3")
        expect(syncUrl("https://gw.example/fl//", "0123456789abcdef", 0)).toBe(
            "https://gw.example/fl/v1/devices/0123456789abcdef/blocks?backlog=0"
        )
    })

    test("the bridge posts to syncUrl, and the gateway's route answers there", async () => {
        const gw = await openGateway()
        try {
            const d = new FakeDevice()
            const store: ChainStore = (await d.boot(1)).store
            await d.kv.set("FL_GATEWAY", settingValue("usb"))
            await gw.service.register({ deviceId: FAKE_ID, key0: "77".repeat(32) })
            const urls: string[] = []
            const fetchVia = (async (url: string, init: RequestInit) => {
                urls.push(url)
                return await gw.app.request(url, init)
            }) as unknown as typeof fetch
            const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))
            const device = d.syncOverUsb(store)
            const options = {
                settings: d.settings,
                crypto: nodeCrypto,
                deviceId: FAKE_ID,
                gatewayUrl: "http://gw.test:8787/",
                fetch: fetchVia,
            }
            let round = await bridgeRound(options, new Set())
            for (let i = 0; i < 400 && round.outcome === "idle"; i++) {
                await sleep(5)
                round = await bridgeRound(options, new Set())
            }
            expect(round).toMatchObject({ outcome: "forwarded", status: 200 })
            expect((await device).outcome).toBe("synced")
            expect(urls).toEqual([syncUrl("http://gw.test:8787/", FAKE_ID, round.backlog!)])
        } finally {
            await gw.close()
            removeDir(gw.dir)
        }
    })
})

describe("the firmware version: one constant, package.json's", () => {
    test("the genesis version (src/device/device.ts seals it) is package.json's name/version, and fits the genesis field", () => {
        expect(FIRMWARE_NAME).toBe(PACKAGE.name)
        expect(FIRMWARE_VERSION).toBe(PACKAGE.name + "/" + PACKAGE.version)
        expect(Buffer.byteLength(FIRMWARE_VERSION)).toBeLessThanOrEqual(MAX_VERSION_BYTES)
        expect(FIRMWARE_PROGRAM_NAME).toBe(FIRMWARE_NAME)
    })
})
