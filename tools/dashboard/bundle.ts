/**
 * The dashboard's one bundled module: browser/decrypt.ts and the shared codec it imports
 * (src/lib), built by esbuild into one ES module the first time a page asks for it, then kept
 * in memory. Built from the source on each gateway start rather than committed, so it is never
 * out of date with the decoder the gateway itself runs.
 */
import { build } from "esbuild"
import { fileURLToPath } from "node:url"

const browserDir = new URL("./browser/", import.meta.url)
let bundled: Promise<string> | undefined

async function bundleDecrypt(): Promise<string> {
    const result = await build({
        entryPoints: [fileURLToPath(new URL("decrypt.ts", browserDir))],
        inject: [fileURLToPath(new URL("buffer-shim.ts", browserDir))],
        bundle: true,
        format: "esm",
        platform: "browser",
        target: "es2020",
        minify: true,
        legalComments: "inline",
        write: false,
        logLevel: "silent",
    })
    return result.outputFiles[0].text
}

/** /dashboard/decrypt.js: built once per process (again after a failed build). */
export function decryptModule(): Promise<string> {
    bundled ??= bundleDecrypt().catch(e => {
        bundled = undefined
        throw e
    })
    return bundled
}
