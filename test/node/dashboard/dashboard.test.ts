/**
 * The dashboard end to end in headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core): a gateway on 127.0.0.1 port 0, seeded through its own API (registration,
 * then batches of blocks sealed by the shared Ledger), one healthy device, one in alarm with a
 * gap record, a missing value and a fork, one registered and never seen, and two sealing hourly
 * (hardware defaults), last synced 40 minutes and 3 hours ago (the gateway's clock is moved back
 * while they sync).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { toHex } from "../../../src/lib/codec/bytes"
import { newChainHead, SealedBlock } from "../../../src/lib/ledger/chain"
import { Ledger } from "../../../src/lib/ledger/ledger"
import { encodeBatch } from "../../../src/lib/sync/syncwire"
import { nodeCrypto } from "../../../tools/lib/crypto"
import { RunningGateway, startGateway } from "../../../tools/gateway/server"
import { createReadToken } from "../../../tools/gateway/tokencli"
import { READ_COOKIE } from "../../../tools/gateway/readauth"
import { dashboardLink } from "../../../tools/start"
import { logIdentity } from "../../../tools/gateway/tlog/logkey"
import { buildChain, CHANNELS, DEVICE_ID, hourlyChain, OTHER_DEVICE_ID, testKey } from "../helpers/chains"
import { buildSignedChain } from "../helpers/signedchains"
import { haveChromium, launchChromium } from "../helpers/chromium"
import { publicKeyFingerprint } from "../../../tools/lib/ed25519"

const ADMIN = "test-admin-token"
const SCREENSHOTS = join(process.cwd(), "test-output")
const NEVER_SEEN = "00000000000000aa"
/** Seal a block an hour; one synced 40 minutes ago, one 3 hours ago. */
const HOURLY_RECENT = Buffer.from("00000000000000b1", "hex")
const HOURLY_SILENT = Buffer.from("00000000000000b2", "hex")
const MINUTE = 60000
const HOSTILE_LABEL = '<img src=x onerror="window.pwned=1">Cold room'
const browserTests = haveChromium("dashboard tests")

async function register(gw: RunningGateway, deviceId: Buffer | string, key: Buffer, label: string) {
    const res = await fetch(gw.url + "/v1/devices", {
        method: "POST",
        headers: { authorization: "Bearer " + ADMIN, "content-type": "application/json" },
        body: JSON.stringify({ deviceId: typeof deviceId === "string" ? deviceId : toHex(deviceId), key0: toHex(key), label }),
    })
    expect(res.status).toBe(201)
}

let nonceCounter = 0
async function post(gw: RunningGateway, deviceId: Buffer, blocks: SealedBlock[], backlog?: number): Promise<Response> {
    const nonce = Buffer.alloc(8)
    nonce.writeUInt32LE(++nonceCounter)
    const query = backlog === undefined ? "" : "?backlog=" + backlog
    return fetch(gw.url + "/v1/devices/" + toHex(deviceId) + "/blocks" + query, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: new Uint8Array(
            encodeBatch(
                nonce,
                blocks.map(b => b.bytes)
            )
        ),
    })
}

/** 2026-03-01T12:00:00Z: the unix time the healthy device learned from a gateway. */
const UNIX_START = 1772366400

/** The stored values of reading i of timedChain: a temperature wave and a falling humidity. */
const timedValues = (i: number) => [1800 + Math.round(300 * Math.sin(i / 4)), 6000 - 10 * i]

/**
 * A chain whose readings carry wall-clock time, as after a device's first sync; with a data key
 * D_0, its readings encrypted end to end as a device provisioned with --encrypt seals them.
 */
function timedChain(deviceId: Buffer, key: Buffer, readings: number, dataKey0?: Buffer): { ledger: Ledger; blocks: SealedBlock[] } {
    const head = newChainHead(Buffer.from(key))
    if (dataKey0) head.dataKey = Buffer.from(dataKey0)
    const ledger = new Ledger(nodeCrypto, deviceId, CHANNELS, head, { intervalMs: 60000, maxReadingsPerBlock: 8 })
    const blocks = [ledger.sealGenesis({ boot: 0, uptimeMs: 0, unixTime: UNIX_START }, "test/1", "sim")]
    for (let i = 0; i < readings; i++)
        blocks.push(...ledger.append(timedValues(i), { boot: 0, uptimeMs: 60000 * (i + 1), unixTime: UNIX_START + 60 * (i + 1) }))
    return { ledger, blocks }
}

describe.skipIf(!browserTests)("dashboard in headless Chromium", () => {
    let dir: string
    let gw: RunningGateway
    let context: BrowserContext
    let page: Page
    const alarm = buildChain(nodeCrypto, { dataBlocks: 4, perBlock: 8 })
    const healthy = timedChain(OTHER_DEVICE_ID, testKey(0x33), 24).blocks
    /** The gateway's clock: the real one unless a device's sync is set in the past. */
    let clockOffset = 0
    /** The read token the browser signs in with (reads need one: docs/API.md, "Access"). */
    let token: string
    /** A read of the API from this process, with the token. */
    const read = (path: string) => fetch(gw.url + path, { headers: { authorization: "Bearer " + token } })

    beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), "fieldledger-dashboard-"))
        gw = await startGateway({
            db: join(dir, "gateway.db"),
            port: 0,
            adminToken: ADMIN,
            masterKey: Buffer.alloc(32, 7),
            log: () => {},
            now: () => Date.now() + clockOffset,
            heartbeatMs: 500,
            logKey: logIdentity(Buffer.alloc(32, 9), "fieldledger.test/dashboard"),
        })
        await register(gw, DEVICE_ID, testKey(), HOSTILE_LABEL)
        await register(gw, OTHER_DEVICE_ID, testKey(0x33), "Greenhouse")
        await register(gw, NEVER_SEEN, testKey(0x44), "Spare unit")
        expect((await post(gw, DEVICE_ID, alarm.blocks, 2)).status).toBe(200)
        expect((await post(gw, OTHER_DEVICE_ID, healthy, 0)).status).toBe(200)
        // A fork: another block at a stored seq, with a valid tag (same K_0, other readings).
        const fork = buildChain(nodeCrypto, { dataBlocks: 1, perBlock: 5, gap: false })
        expect((await post(gw, DEVICE_ID, fork.blocks.slice(0, 2))).status).toBe(409)
        // Posted again a minute later: one event, seen twice.
        clockOffset = MINUTE
        expect((await post(gw, DEVICE_ID, fork.blocks.slice(0, 2))).status).toBe(409)
        clockOffset = 0
        for (const [id, key, ago] of [
            [HOURLY_RECENT, testKey(0x55), 40 * MINUTE],
            [HOURLY_SILENT, testKey(0x66), 180 * MINUTE],
        ] as const) {
            await register(gw, id, key, "Hourly " + ago / MINUTE + " min")
            clockOffset = -ago
            expect((await post(gw, id, hourlyChain(nodeCrypto, { deviceId: id, key, hours: 6 }), 0)).status).toBe(200)
            clockOffset = 0
        }

        const browser = await launchChromium(join(dir, "profile"))
        context = browser.context
        page = browser.page
        mkdirSync(SCREENSHOTS, { recursive: true })
        // Signed in as `fieldledger start` does it: its link sets the cookie and drops the token from the address.
        token = (await createReadToken(gw.service.store, { label: "dashboard test" })).token
        const landed = await page.goto(dashboardLink(gw.url, token))
        expect(landed?.status()).toBe(200)
        expect(page.url()).toBe(gw.url + "/")
    })

    afterAll(async () => {
        await context?.close()
        await gw?.close()
        if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it("shows every device of the fleet with its state, losses and security events", async () => {
        const errors: string[] = []
        page.on("pageerror", e => errors.push(e.message))
        await page.goto(gw.url + "/")
        await page.locator("tr.device").nth(4).waitFor()
        const rows = await page.locator("tr.device").evaluateAll(trs =>
            trs.map(tr => ({
                device: (tr as HTMLElement).dataset.device,
                state: (tr as HTMLElement).dataset.state,
                text: tr.textContent,
            }))
        )
        const byId = new Map(rows.map(r => [r.device, r]))
        expect(byId.get(toHex(DEVICE_ID)).state).toBe("alarm")
        expect(byId.get(toHex(OTHER_DEVICE_ID)).state).toBe("healthy")
        expect(byId.get(NEVER_SEEN).state).toBe("stale")
        expect(byId.get(NEVER_SEEN).text).toContain("never")
        const alarmRow = byId.get(toHex(DEVICE_ID)).text
        expect(alarmRow).toContain("power-loss")
        expect(alarmRow).toContain("3 readings lost")
        expect(alarmRow).toContain("1 event")
        // It reported 2 blocks held and sent them all: the sync left none.
        expect(await page.locator(`tr[data-device="${toHex(DEVICE_ID)}"] td.backlog`).textContent()).toBe("0")
        expect(byId.get(toHex(OTHER_DEVICE_ID)).text).toContain("Greenhouse")
        // Sealing (so syncing) hourly: 40 minutes unheard is on time, 3 hours is not.
        expect(byId.get(toHex(HOURLY_RECENT)).state).toBe("healthy")
        expect(byId.get(toHex(HOURLY_SILENT)).state).toBe("stale")
        expect(byId.get(toHex(HOURLY_RECENT)).text).toContain("40 min ago")
        expect(byId.get(toHex(HOURLY_RECENT)).text).toContain("expected a sync every ~60 min")
        expect(await page.locator(".summary").first().textContent()).toContain("stale when not seen for 15 min + twice its block period")
        // The transparency log: its checkpoint, signed once the test's blocks were in, and each device's logged seq.
        const logged = (await gw.service.logIntegrator.checkpoint()).size
        await page
            .waitForFunction(
                n => document.getElementById("log-checkpoint")?.textContent.includes("signed checkpoint of " + n + " blocks"),
                logged,
                { timeout: 10000 }
            )
            .catch(e => {
                throw new Error("the fleet view did not show the log's checkpoint of " + logged + " blocks within 10 s: " + e.message)
            })
        expect(await page.locator(`tr[data-device="${toHex(OTHER_DEVICE_ID)}"] td.logged`).textContent()).toMatch(/^logged up to seq \d+$/)
        expect(await page.locator(`tr[data-device="${NEVER_SEEN}"] td.logged`).textContent()).toBe("–")
        await page.screenshot({ path: join(SCREENSHOTS, "dashboard-fleet.png"), fullPage: true })
        expect(errors).toEqual([])
    })

    it("ages a device's state on an open page when nothing new arrives", async () => {
        await page.goto(gw.url + "/devices/" + toHex(HOURLY_RECENT))
        const chip = page.locator("#device-state")
        await page.waitForFunction(() => document.getElementById("device-state")?.textContent === "healthy")
        await page.goto(gw.url + "/")
        await page.locator(`tr.device[data-device="${toHex(HOURLY_RECENT)}"][data-state="healthy"]`).waitFor()
        // Three hours pass on the gateway's clock and the device sends nothing: the stream's
        // heartbeat carries the later time, and both views turn the device stale.
        clockOffset = 180 * MINUTE
        try {
            await page.locator(`tr.device[data-device="${toHex(HOURLY_RECENT)}"][data-state="stale"]`).waitFor({ timeout: 10000 })
            await page.goto(gw.url + "/devices/" + toHex(HOURLY_RECENT))
            await page.waitForFunction(() => document.getElementById("device-state")?.textContent === "stale", null, { timeout: 10000 })
            expect(await chip.getAttribute("class")).toContain("stale")
        } finally {
            clockOffset = 0
        }
        // Back on the real clock, the heartbeat makes the open device page healthy again
        // without reloading it.
        await page.waitForFunction(() => document.getElementById("device-state")?.textContent === "healthy", null, { timeout: 10000 })
        expect(await page.locator(".fact").filter({ hasText: "Firmware" }).textContent()).not.toContain("–")
    })

    it("shows device-provided text as text, never as markup", async () => {
        await page.goto(gw.url + "/")
        const link = page.locator(`tr[data-device="${toHex(DEVICE_ID)}"] a`)
        expect(await link.textContent()).toBe(HOSTILE_LABEL)
        expect(await page.locator("main img").count()).toBe(0)
        expect(await page.evaluate(() => (window as any).pwned)).toBeUndefined()
    })

    it("opens a device: plots with points, the gap and the fork, the chain and the export link", async () => {
        await page.goto(gw.url + "/")
        await page.locator(`tr[data-device="${toHex(DEVICE_ID)}"] a`).click()
        await page.waitForURL("**/devices/" + toHex(DEVICE_ID))
        await page.locator("tr.block").first().waitFor()
        await page.locator(".gap-band").first().waitFor({ state: "attached" })
        const plots = await page.evaluate(() =>
            (window as any).fieldledger.plots.map((u: any) => ({
                points: u.data[0].length,
                series: u.series.length,
                values: u.data[1].filter((v: unknown) => v !== null).length,
            }))
        )
        // Two channels; 32 readings each, plus the empty point that breaks the line at the gap
        // record (it sits after every reading, so there is nothing to break: no extra point).
        expect(plots.length).toBe(2)
        for (const p of plots) expect(p.series).toBe(2)
        expect(plots[0].values).toBe(32)
        expect(plots[1].values).toBe(31) // one humidity value is missing
        expect(await page.locator(".plot canvas").count()).toBe(2)
        expect(await page.locator('.plot[data-channel="1"] .fault-mark').count()).toBe(1)
        const gaps = await page.locator("tr.gap-record").allTextContents()
        expect(gaps.length).toBe(1)
        expect(gaps[0]).toContain("power-loss")
        const events = await page.locator("tr.event").allTextContents()
        expect(events.length).toBe(1)
        expect(events[0]).toContain("fork")
        expect(events[0]).toContain("×2")
        expect(await page.locator("tr.event").first().getAttribute("data-count")).toBe("2")
        expect(await page.locator("#device-state").textContent()).toBe("alarm")
        const head = alarm.blocks[alarm.blocks.length - 1]
        expect(await page.locator("tr.block").count()).toBe(alarm.blocks.length)
        expect(await page.locator(`tr.block[data-seq="${head.seq}"]`).textContent()).toContain(toHex(head.hash).slice(0, 16))
        expect(await page.locator('tr.block[data-seq="1"] .status').textContent()).toContain("fork")
        const href = await page.locator("#export-link").getAttribute("href")
        const exported = await (await read(href!)).json()
        expect(exported.blocks.length).toBe(alarm.blocks.length)
    })

    it("shows a newly ingested block without a reload", async () => {
        await page.goto(gw.url + "/devices/" + toHex(DEVICE_ID))
        await page.locator("tr.block").first().waitFor()
        await page.waitForFunction(() => (window as any).fieldledger.fleet !== null)
        const before = await page.evaluate(() => (window as any).fieldledger.plots[0].data[1].filter((v: unknown) => v !== null).length)
        await page.evaluate(() => ((window as any).notReloaded = true))
        const fresh: SealedBlock[] = []
        for (let i = 0; i < 8; i++) fresh.push(...alarm.ledger.append([2300 + i, 4000 + i], { boot: 1, uptimeMs: 2000 + i * 1000 }))
        expect(fresh.length).toBe(1)
        expect((await post(gw, DEVICE_ID, fresh, 0)).status).toBe(200)
        await page.locator(`tr.block[data-seq="${fresh[0].seq}"]`).waitFor()
        await page.waitForFunction(
            n => (window as any).fieldledger.plots[0].data[1].filter((v: unknown) => v !== null).length === n,
            before + 8
        )
        expect(await page.evaluate(() => (window as any).notReloaded)).toBe(true)
        // The gap record now sits between readings: its band spans the break.
        expect(await page.locator('.plot[data-channel="0"] .gap-band').count()).toBe(1)
        await page.screenshot({ path: join(SCREENSHOTS, "dashboard-device.png"), fullPage: true })
    })

    it("plots readings with wall-clock times on a time axis", async () => {
        await page.goto(gw.url + "/devices/" + toHex(OTHER_DEVICE_ID))
        await page.locator("tr.block").first().waitFor()
        const plot = await page.evaluate(() => {
            const u = (window as any).fieldledger.plots[0]
            return { time: u.scales.x.time, first: u.data[0][0], points: u.data[0].length }
        })
        expect(plot).toEqual({ time: true, first: UNIX_START + 60, points: 24 })
        expect(await page.locator("#device-state").textContent()).toBe("healthy")
        expect(await page.locator("tr.gap-record").count()).toBe(0)
        expect(await page.locator("tr.event").count()).toBe(0)
        await page.screenshot({ path: join(SCREENSHOTS, "dashboard-device-timed.png") })
    })

    it("shows an hourly device's block period and the threshold it gives on its page", async () => {
        await page.goto(gw.url + "/devices/" + toHex(HOURLY_RECENT))
        await page.locator("#device-state").waitFor()
        await page.waitForFunction(() => document.querySelector("#device-state")?.textContent === "healthy")
        const facts = await page.locator(".fact").allTextContents()
        expect(facts).toContain("Block period~60 min (stale after ~2 h unheard)")
        expect(await page.locator("p.why").textContent()).toBe("synced 40 min ago; expected a sync every ~60 min")
        await page.goto(gw.url + "/devices/" + toHex(HOURLY_SILENT))
        await page.waitForFunction(() => document.querySelector("#device-state")?.textContent === "stale")
        expect(await page.locator("p.why").textContent()).toBe("no sync for 3 h; expected a sync every ~60 min")
    })

    it("shows how far a device's chain is signed, with its key's fingerprint", async () => {
        const id = Buffer.from("00000000000000d1", "hex")
        const signed = buildSignedChain(nodeCrypto, { deviceId: id, key0: testKey(0x55) })
        const res = await fetch(gw.url + "/v1/devices", {
            method: "POST",
            headers: { authorization: "Bearer " + ADMIN, "content-type": "application/json" },
            body: JSON.stringify({ deviceId: toHex(id), key0: toHex(testKey(0x55)), label: "Signed", publicKey: toHex(signed.publicKey0) }),
        })
        expect(res.status).toBe(201)
        expect((await post(gw, id, signed.blocks, 0)).status).toBe(200)
        await page.goto(gw.url + "/devices/" + toHex(id))
        await page.locator(".fact").filter({ hasText: "Signed" }).waitFor()
        const facts = await page.locator(".fact").allTextContents()
        const last = signed.checkpointSeqs[signed.checkpointSeqs.length - 1]
        expect(facts).toContain("Signedsigned up to seq " + last + " (key " + publicKeyFingerprint(signed.publicKey0) + ")")
        // A device without a registered key says so.
        await page.goto(gw.url + "/devices/" + toHex(OTHER_DEVICE_ID))
        await page.locator(".fact").filter({ hasText: "Signed" }).waitFor()
        expect(await page.locator(".fact").allTextContents()).toContain("Signedno signing key registered")
    })

    it("plots and lists only the newest 500 blocks of a long chain", async () => {
        const id = Buffer.from("00000000000000c1", "hex")
        const key = testKey(0x77)
        await register(gw, id, key, "Three weeks of hours")
        const chain = hourlyChain(nodeCrypto, { deviceId: id, key, hours: 520 })
        for (let at = 0; at < chain.length; at += 50) expect((await post(gw, id, chain.slice(at, at + 50), 0)).status).toBe(200)
        const readingRequests: string[] = []
        page.on("request", r => {
            if (r.url().includes("/readings")) readingRequests.push(r.url())
        })
        await page.goto(gw.url + "/devices/" + toHex(id))
        await page.locator("tr.block").first().waitFor()
        // Head 520: the newest 500 blocks are 21..520.
        expect(readingRequests.some(u => u.endsWith("/readings?from=21"))).toBe(true)
        // The chain list, the plots and their title render as their requests come back, in any
        // order on a busy machine: wait for each to reach its final state.
        const settled = { timeout: 30000, interval: 100 }
        await expect.poll(() => page.locator("h2", { hasText: "Readings" }).textContent(), settled).toBe("Readings (newest 500 blocks)")
        await expect.poll(() => page.locator("tr.block").count(), settled).toBe(500)
        const points = () => page.evaluate(() => (window as any).fieldledger.plots[0]?.data[1].filter((v: unknown) => v !== null).length)
        await expect.poll(points, settled).toBe(500 * 60)
    })

    it("decrypts end-to-end encrypted readings in the browser with the owner's data key, which it never sends", async () => {
        const id = Buffer.from("00000000000000e1", "hex")
        const key = testKey(0x88)
        const dataKey0 = Buffer.alloc(32, 0xd7)
        const dataKeyHex = toHex(dataKey0)
        await register(gw, id, key, "Encrypted room")
        const chain = timedChain(id, key, 24, dataKey0)
        expect((await post(gw, id, chain.blocks, 0)).status).toBe(200)
        /** Every request the page makes, whole: the data key must be in none. */
        const sent: string[] = []
        const onRequest = (r: import("playwright-core").Request) =>
            sent.push(r.url() + " " + JSON.stringify(r.headers()) + " " + (r.postData() ?? ""))
        page.on("request", onRequest)
        const values = (channel: number) => page.evaluate(c => (window as any).fieldledger.plots[c]?.data[1] ?? [], channel)
        const present = async (channel: number) => (await values(channel)).filter((v: unknown) => v !== null).length
        const settled = { timeout: 30000, interval: 100 }
        try {
            await page.goto(gw.url + "/devices/" + toHex(id))
            await page.locator("#data-key-form").waitFor()
            // Without the key: times and counts, no value.
            await expect.poll(() => page.locator("#readings-title").textContent(), settled).toContain("24 readings encrypted end to end")
            expect(await values(0)).toHaveLength(24)
            expect(await present(0)).toBe(0)

            // Not a key; then another chain's key: each says why, and nothing is decrypted.
            await page.locator("#data-key-text").fill("not a key")
            await page.locator("#data-key-form button[type=submit]").click()
            await expect
                .poll(() => page.locator("#data-key-error").textContent(), settled)
                .toContain("a data key must be 64 hex digits (32 bytes), got 9")
            await page.locator("#data-key-text").fill("11".repeat(32))
            await page.locator("#data-key-form button[type=submit]").click()
            await expect
                .poll(() => page.locator("#data-key-error").textContent(), settled)
                .toContain("does not decrypt under this data key")
            expect(await present(0)).toBe(0)
            await page.screenshot({ path: join(SCREENSHOTS, "dashboard-device-encrypted.png"), fullPage: true })

            // The owner's key file: exactly the values sealed.
            await page
                .locator("#data-key-file")
                .setInputFiles({ name: "data.key", mimeType: "text/plain", buffer: Buffer.from(dataKeyHex + "\n") })
            await page.locator("#data-key-form button[type=submit]").click()
            await expect.poll(() => present(0), settled).toBe(24)
            const sealed = Array.from({ length: 24 }, (_, i) => timedValues(i).map(x => x / 100))
            expect(await values(0)).toEqual(sealed.map(v => v[0]))
            expect(await values(1)).toEqual(sealed.map(v => v[1]))
            expect(await page.locator("#readings-title").textContent()).toContain("24 readings decrypted in this browser")
            expect(await page.locator("#data-key-state").textContent()).toContain("decrypted in this browser")
            // The owner's download: the gateway's CSV columns, with the values.
            const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#decrypted-csv").click()])
            const csv = readFileSync((await download.path())!, "utf8")
                .trim()
                .split("\n")
            expect(csv[0]).toBe("seq,boot,uptimeMs,unixTime,temperature (degC),humidity (%RH)")
            expect(csv).toHaveLength(25)
            expect(csv[1]).toBe(["1", "0", "60000", String(UNIX_START + 60), ...sealed[0].map(String)].join(","))
            expect(csv[24].split(",").slice(4).map(Number)).toEqual(sealed[23])

            // A block arriving while the page is open is decrypted with the key already given.
            const fresh: SealedBlock[] = []
            for (let i = 24; i < 32; i++)
                fresh.push(
                    ...chain.ledger.append(timedValues(i), { boot: 0, uptimeMs: 60000 * (i + 1), unixTime: UNIX_START + 60 * (i + 1) })
                )
            expect((await post(gw, id, fresh, 0)).status).toBe(200)
            await expect.poll(() => present(1), settled).toBe(32)
            expect((await values(1))[31]).toBe(timedValues(31)[1] / 100)
            await page.screenshot({ path: join(SCREENSHOTS, "dashboard-device-decrypted.png"), fullPage: true })

            // Forgotten: the values go, the form comes back.
            await page.locator("#data-key-forget").click()
            await page.locator("#data-key-form").waitFor()
            await expect.poll(() => present(0), settled).toBe(0)

            // The key went nowhere: in no request, no storage, no cookie.
            expect(sent.length).toBeGreaterThan(0)
            expect(sent.filter(r => r.toLowerCase().includes(dataKeyHex))).toEqual([])
            expect(sent.some(r => r.includes("/blocks?") && r.includes("bytes=1"))).toBe(true)
            const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]))
            expect(stored).not.toContain(dataKeyHex)
        } finally {
            page.off("request", onRequest)
        }
    })

    it("serves only its own files and uPlot, with a content security policy", async () => {
        const res = await read("/dashboard/app.js")
        expect(res.headers.get("content-security-policy")).toContain("script-src 'self'")
        expect((await read("/dashboard/vendor/uPlot.esm.js")).status).toBe(200)
        for (const path of [
            "/dashboard/..%2Froutes.ts",
            "/dashboard/vendor/uPlot.cjs.js",
            "/dashboard/index.html",
            "/devices/zz/../../package.json",
        ])
            expect((await read(path)).status, path).toBe(404)
        expect((await read("/dashboard/api/devices/nothex/gaps")).status).toBe(400)
    })

    it("keeps the token in a cookie scripts cannot read: HttpOnly, SameSite=Strict, Path=/, not Secure over http", async () => {
        const cookies = (await context.cookies(gw.url)).filter(c => c.name === READ_COOKIE)
        expect(cookies).toHaveLength(1)
        expect(cookies[0]).toMatchObject({ value: token, httpOnly: true, sameSite: "Strict", path: "/", secure: false })
        await page.goto(gw.url + "/")
        expect(await page.evaluate(() => document.cookie)).not.toContain(READ_COOKIE)
        await expect.poll(() => page.locator("#who").textContent(), { timeout: 20000 }).toBe("read token dashboard test")
    })

    it("signs out: the cookie is gone, the dashboard asks for a token again and its API answers 401", async () => {
        await page.goto(gw.url + "/devices/" + toHex(OTHER_DEVICE_ID))
        await page.locator("#signout button").click()
        await page.waitForURL(gw.url + "/signin")
        expect((await context.cookies(gw.url)).filter(c => c.name === READ_COOKIE)).toEqual([])
        const again = await page.goto(gw.url + "/")
        expect(again?.status()).toBe(401)
        expect(await page.locator("form[action='/signin'] input[name=token]").count()).toBe(1)
        expect(await page.locator("tr.device").count()).toBe(0)
        // The browser's own requests (its cookie jar, now without the token) are refused.
        expect((await context.request.get(gw.url + "/dashboard/api/fleet")).status()).toBe(401)
    })

    it("signs in through the form and comes back to the page it asked for, with the fleet", async () => {
        const asked = await page.goto(gw.url + "/devices/" + toHex(OTHER_DEVICE_ID))
        expect(asked?.status()).toBe(401)
        await page.locator("input[name=token]").fill("flr_" + "A".repeat(43))
        await page.locator("button[type=submit]").click()
        await page.locator("[role=alert]").waitFor()
        expect(await page.locator("[role=alert]").textContent()).toContain("not a valid read token")
        await page.locator("input[name=token]").fill(token)
        await page.locator("button[type=submit]").click()
        await page.waitForURL(gw.url + "/devices/" + toHex(OTHER_DEVICE_ID))
        await page.goto(gw.url + "/")
        const fleet = (await (await read("/v1/devices")).json()).devices.length
        await page
            .locator("tr.device")
            .nth(fleet - 1)
            .waitFor()
        expect(await page.locator("tr.device").count()).toBe(fleet)
        expect((await context.request.get(gw.url + "/dashboard/api/fleet")).status()).toBe(200)
    })

    it("goes back to the sign-in form when its token is revoked while the page is open", async () => {
        const { token: short, id } = await createReadToken(gw.service.store, { label: "short-lived" })
        await page.goto(gw.url + "/signin?token=" + short)
        await page.locator("tr.device").first().waitFor()
        await gw.service.store.tokens.revoke(id, Date.now())
        // The stream asks again before each message (a heartbeat every 500 ms here) and ends; the page signs in again.
        await page.waitForURL(/\/signin\?next=/, { timeout: 20000 })
    })
})
