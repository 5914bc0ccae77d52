#!/usr/bin/env node
// The fieldledger command: the tools are TypeScript, loaded through tsx so that the Node side
// and the firmware share src/lib without a separate build step.
import { register } from "tsx/esm/api"

register()
const { main } = await import("../tools/cli.ts")
process.exitCode = await main(process.argv.slice(2))
