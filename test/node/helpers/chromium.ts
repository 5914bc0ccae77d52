/**
 * Headless Chromium for the dashboard's browser tests: Debian's /usr/bin/chromium through
 * playwright-core (no browser download at install time). Under CI its absence is an error
 * (.ci/run installs the package); elsewhere the browser tests are skipped with a warning.
 */
import { existsSync } from "node:fs"
import type { BrowserContext, Page } from "playwright-core"

export const CHROMIUM = "/usr/bin/chromium"

/** Whether the browser tests can run; `what` names them in the warning when they cannot. */
export function haveChromium(what: string): boolean {
    if (existsSync(CHROMIUM)) return true
    if (process.env.CI) throw new Error(CHROMIUM + " is missing under CI: .ci/run installs Debian's chromium package")
    console.warn(what + " skipped: " + CHROMIUM + " is absent (apt-get install chromium)")
    return false
}

/** A browser with its own profile in `profileDir`, and its first page. */
export async function launchChromium(profileDir: string): Promise<{ context: BrowserContext; page: Page }> {
    const { chromium } = await import("playwright-core")
    const context = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 900 },
        args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    })
    return { context, page: context.pages()[0] ?? (await context.newPage()) }
}
