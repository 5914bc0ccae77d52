#!/usr/bin/env node
// Runs every test suite: the device suites in the DeviceScript simulator (one `devs run --test`
// per entry file) and the Node suites with vitest. Ends with one line `N passed, N failed`
// that adds both up, and exits non-zero if anything failed or crashed.
//
// Usage: node tools/run-tests.mjs [--device | --node] [FILTER]
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const args = process.argv.slice(2)
if (args.includes("--help") || args.includes("-h")) {
    console.log(
        "Usage: node tools/run-tests.mjs [--device | --node] [FILTER]\n\nRuns the device suites (test/device/*.test.ts in the simulator) and the Node suites\n(vitest, test/node). FILTER keeps the files whose path contains it."
    )
    process.exit(0)
}
const onlyDevice = args.includes("--device")
const onlyNode = args.includes("--node")
const filter = args.find(a => !a.startsWith("--"))
const DEVICE_TIMEOUT_MS = 120000

function run(command, argv, { echo = true } = {}) {
    return new Promise(resolve => {
        const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] })
        let output = ""
        const onData = d => {
            output += d
            if (echo) process.stdout.write(d)
        }
        child.stdout.on("data", onData)
        child.stderr.on("data", onData)
        child.on("close", code => resolve({ code, output }))
    })
}

const DEVS = join("node_modules", "@devicescript", "cli", "devicescript")
const TSX = join("node_modules", "tsx", "dist", "cli.mjs")
const SUMMARY = /tests: (\d+), pass: (\d+), error: (\d+)/

async function runDeviceSuites() {
    const files = readdirSync("test/device")
        .filter(f => f.endsWith(".test.ts"))
        .map(f => join("test/device", f))
        .filter(f => !filter || f.includes(filter))
        .sort()
    let passed = 0
    let failed = 0
    // One at a time: concurrent `devs run`s in one project rewrite the same build files.
    for (const file of files) {
        console.log(`\n=== device suite ${file}`)
        const { code, output } = await run(process.execPath, [
            DEVS,
            "run",
            file,
            "--test",
            "--test-self-exit",
            "-T",
            String(DEVICE_TIMEOUT_MS),
        ])
        const clean = output.replace(/\x1b\[[0-9;]*m/g, "")
        const m = SUMMARY.exec(clean)
        if (m) {
            passed += Number(m[2])
            failed += Number(m[3])
        }
        // A crash (panic, InfiniteLoop, out of memory, compile error) may leave no summary.
        const crashed = code !== 0 && (!m || Number(m[3]) === 0)
        if (crashed) failed += 1
        console.log(
            `=== ${file}: ${m ? `${m[2]} passed, ${m[3]} failed` : "no test summary"}${crashed ? ", CRASHED (counted as 1 failure)" : ""}`
        )
    }
    return { passed, failed }
}

async function runNodeSuites() {
    const dir = mkdtempSync(join(tmpdir(), "fieldledger-vitest-"))
    const report = join(dir, "report.json")
    const vitestArgs = [
        join("node_modules", "vitest", "vitest.mjs"),
        "run",
        "--reporter=default",
        "--reporter=json",
        "--outputFile.json=" + report,
    ]
    if (filter) vitestArgs.push(filter)
    console.log("\n=== node suites (vitest)")
    const { code } = await run(process.execPath, vitestArgs)
    let passed = 0
    let failed = 0
    try {
        const json = JSON.parse(readFileSync(report, "utf8"))
        passed = json.numPassedTests
        failed = json.numFailedTests
        // A suite that failed to load counts as a failure even though it ran no test.
        failed += json.testResults.filter(r => r.status === "failed" && r.assertionResults.length === 0).length
    } catch {
        failed = 1
        console.log("=== vitest wrote no report (exit " + code + "): counted as 1 failure")
    }
    if (code !== 0 && failed === 0) failed = 1
    rmSync(dir, { recursive: true, force: true })
    return { passed, failed }
}

// Checks that are not test files but must pass: each counts as one test.
const CHECKS = [
    { name: "firmware builds (devs build src/main.ts)", side: "device", argv: [DEVS, "build", "src/main.ts"] },
    // One entry per board (boards/*.board.json): a wrong pin or board id fails the build.
    ...["xiao_esp32c3", "esp32s3_devkitm", "pico_w", "pico"].map(board => ({
        name: `firmware builds for board fl_${board} (devs build src/main_${board}.ts)`,
        side: "device",
        argv: [DEVS, "build", `src/main_${board}.ts`],
    })),
    {
        name: "TypeScript type check of tools, shared code and Node tests (tsc)",
        side: "node",
        argv: [join("node_modules", "typescript", "bin", "tsc"), "-p", "tools/tsconfig.json"],
    },
    // Generated files are checked byte for byte against their generators.
    {
        name: "golden vectors and the worked example up to date (gen-vectors --check)",
        side: "node",
        argv: [TSX, "tools/gen-vectors.ts", "--check"],
    },
    { name: "Ed25519 tables up to date (gen-ed25519-table --check)", side: "node", argv: [TSX, "tools/gen-ed25519-table.ts", "--check"] },
    {
        name: "signed checkpoint golden vectors up to date (gen-checkpoint-vectors --check)",
        side: "node",
        argv: [TSX, "tools/gen-checkpoint-vectors.ts", "--check"],
    },
    // One style everywhere (.prettierrc, printWidth 140): `npm run format` fixes what this finds.
    {
        name: "format check (prettier --check .)",
        side: "node",
        argv: [join("node_modules", "prettier", "bin", "prettier.cjs"), "--check", "."],
    },
]

async function runChecks() {
    let passed = 0
    let failed = 0
    for (const check of CHECKS) {
        if ((onlyDevice && check.side !== "device") || (onlyNode && check.side !== "node") || filter) continue
        console.log(`\n=== check: ${check.name}`)
        const { code } = await run(process.execPath, check.argv)
        console.log(`=== check ${code === 0 ? "passed" : "FAILED"}: ${check.name}`)
        if (code === 0) passed++
        else failed++
    }
    return { passed, failed }
}

let passed = 0
let failed = 0
for (const [enabled, suite] of [
    [true, runChecks],
    [!onlyNode, runDeviceSuites],
    [!onlyDevice, runNodeSuites],
]) {
    if (!enabled) continue
    const r = await suite()
    passed += r.passed
    failed += r.failed
}
console.log(`\n${passed} passed, ${failed} failed`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
