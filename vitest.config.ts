import { defineConfig } from "vitest/config"

/**
 * Suites that run the simulator on the devtools bus (TCP 8082): only one devtools can hold the
 * port, so they run in their own project, one file at a time, after the other suites.
 */
const BUS_SUITES = ["test/node/powercut.test.ts", "test/node/provision/simulator.test.ts"]

export default defineConfig({
    test: {
        testTimeout: 60000,
        projects: [
            { extends: true, test: { name: "node", include: ["test/node/**/*.test.ts"], exclude: BUS_SUITES } },
            { extends: true, test: { name: "bus", include: BUS_SUITES, fileParallelism: false, sequence: { groupOrder: 1 } } },
        ],
    },
})
