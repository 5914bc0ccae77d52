import { defineConfig } from "vitest/config"

/**
 * Suites that run the simulator on the devtools bus (TCP 8082, one at a time) and its flash file
 * (.devicescript/flash/sim.bin) go one after another in their own project, so no suite erases or
 * reuses another's flash between its runs; everything else runs in parallel beside them.
 */
const BUS_SUITES = [
    "test/node/powercut.test.ts",
    "test/node/tools/start.test.ts",
    "test/node/provision/simulator.test.ts",
    "test/node/provision/bridge-sim.test.ts",
    "test/node/provision/simulator-encrypt.test.ts",
]

export default defineConfig({
    test: {
        testTimeout: 60000,
        projects: [
            {
                extends: true,
                // PostgreSQL for the suites that need it: one cluster per run, started on first use.
                test: {
                    name: "node",
                    include: ["test/node/**/*.test.ts"],
                    exclude: BUS_SUITES,
                    globalSetup: ["test/node/helpers/pgsetup.ts"],
                },
            },
            { extends: true, test: { name: "bus", include: BUS_SUITES, fileParallelism: false } },
        ],
    },
})
