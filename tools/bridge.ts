/**
 * `fieldledger bridge`: USB sync for a board without a network (docs/PROVISIONING.md, "USB
 * sync"). Thin: the bus is tools/lib/jacdacbus.ts, the logic tools/lib/bridge.ts. Runs until
 * Ctrl-C, or one forwarded round with --once. Exit 0 done, 1 failed, 2 usage.
 */
import { deviceIdOption, gatewayOption, parseCommandLine, UsageError } from "./lib/args"
import { awaitDeviceTook, BridgeRound, bridgeRound, checkUsbMode, readDeviceHead } from "./lib/bridge"
import { nobleCrypto } from "./lib/crypto"
import { BusError, openBus } from "./lib/jacdacbus"
import { backlogOf, ProvisionError } from "./lib/provisioning"
import { pickDevice } from "./provision"

export const BRIDGE_HELP = `Usage: fieldledger bridge (--sim | [--port PATH]) [--device ID] --gateway URL [--once] [options]

Syncs a device that has no network (a Pico; provisioned with --device-gateway usb) through
this host: when the device's sync round asks (it publishes its batch nonce in a setting), the
bridge reads its sealed blocks over USB, posts them to the gateway as the device's batch, and
writes the gateway's signed acknowledgement back; the device checks it and forgets what the
gateway holds. Gateway unreachable: the device is told and keeps its blocks; the bridge goes on.
The device asks every FL_SYNC_MS and backs off up to FL_BACKOFF_MS while nobody answers, so
the first round may take that long.

Options:
  --sim            the simulator's devtools bus (tcp://127.0.0.1:8082)
  --port PATH      serial port (default: the one USB board found; needs udevadm)
  --device ID      which device (16 hex digits) when several are on the bus
  --gateway URL    the gateway that verifies the device's blocks (http://host:port)
  --once           forward one round, wait for the device to take the reply, exit
  --timeout S      with --once: how long to wait for the device's round (default 120)
  --json           JSON: one object per round (--once: one object)
  --verbose        jacdac-ts's debug lines
  -h, --help       this help`

const POLL_MS = 300

export async function runBridge(argv: string[]): Promise<number> {
    const cli = parseCommandLine(argv, {
        sim: { type: "boolean" },
        port: { type: "string" },
        device: { type: "string" },
        gateway: { type: "string" },
        once: { type: "boolean" },
        timeout: { type: "string" },
        json: { type: "boolean" },
        verbose: { type: "boolean" },
    })
    if (cli.boolean("help")) {
        console.log(BRIDGE_HELP)
        return 0
    }
    if (cli.positionals.length > 0) throw new UsageError("unexpected argument " + cli.positionals[0])
    if (cli.boolean("sim") && cli.string("port")) throw new UsageError("--sim and --port exclude each other")
    const gateway = gatewayOption(cli, "gateway")
    if (!gateway) throw new UsageError("--gateway http(s)://host:port is required: where the device's blocks go")
    const wanted = deviceIdOption(cli, "device")
    const timeoutText = cli.string("timeout")
    if (timeoutText !== undefined && !/^\d{1,6}$/.test(timeoutText)) throw new UsageError("--timeout must be whole seconds")
    const timeoutS = timeoutText === undefined ? 120 : Number(timeoutText)
    const json = cli.boolean("json")
    const once = cli.boolean("once")
    const say = (line: string) => {
        if (!json) console.log(line)
    }

    let stopped = false
    let wake: () => void = () => {}
    const onSigint = () => {
        stopped = true
        wake()
    }
    process.once("SIGINT", onSigint)
    const pause = (ms: number) =>
        new Promise<void>(resolve => {
            const t = setTimeout(resolve, ms)
            wake = () => {
                clearTimeout(t)
                resolve()
            }
        })

    let bus
    try {
        bus = await openBus({ sim: cli.boolean("sim"), port: cli.string("port"), verbose: cli.boolean("verbose") })
    } catch (e) {
        process.off("SIGINT", onSigint)
        return fail(json, e)
    }
    try {
        const device = await pickDevice(bus, wanted)
        await checkUsbMode(device.settings, device.id)
        const options = { settings: device.settings, crypto: nobleCrypto, deviceId: device.id, gatewayUrl: gateway }
        const head = await readDeviceHead(device.settings, nobleCrypto, device.id)
        if (!head) throw new ProvisionError("no-chain", "device " + device.id + " has no chain in flash yet", "let it boot and seal its genesis block (or provision it)")
        const startBacklog = backlogOf(head)
        head.key.fill(0)
        say("bridge: device " + device.id + " on " + bus.description + " -> " + gateway + " (" + startBacklog + " block(s) in its backlog); waiting for its sync round" + (once ? "" : ", Ctrl-C stops"))

        const served = new Set<string>()
        const deadline = Date.now() + timeoutS * 1000
        let rounds = 0
        let lastOutcome: BridgeRound | undefined
        /** A forwarded round whose acknowledgement the device has not taken (--once goes on). */
        let untaken = false
        while (!stopped) {
            const round = await bridgeRound(options, served)
            if (round.outcome === "idle") {
                if (once && Date.now() > deadline && untaken)
                    throw new ProvisionError("ack-not-taken", "device " + device.id + " did not take the gateway's acknowledgement within " + timeoutS + " s (the gateway holds the blocks; the device keeps them until it does)", "run the bridge again; if it keeps failing, see the device's fl:sync lines")
                if (once && Date.now() > deadline)
                    throw new ProvisionError("no-round", "device " + device.id + " did not start a sync round within " + timeoutS + " s", "it asks every FL_SYNC_MS and backs off up to FL_BACKOFF_MS while no bridge answers: run the bridge longer (without --once), or restart the device's program")
                await pause(POLL_MS)
                continue
            }
            rounds++
            lastOutcome = round
            const range = round.sent ? " seq " + round.firstSeq + ".." + round.lastSeq : ""
            const after = round.outcome === "forwarded" ? await awaitDeviceTook(options, round.nonce!, 35000, round.ack ?? -1) : undefined
            // The device's round may have timed out before the reply came (a slow bus or
            // gateway): with --once, serve its next round instead of reporting a round it
            // never took. The gateway answers the re-sent blocks as duplicates.
            untaken = round.outcome === "forwarded" && round.ack !== undefined && !(after && after.tookAck)
            const retry = once && untaken && Date.now() <= deadline
            if (json) {
                if (!retry) console.log(JSON.stringify({ ok: round.outcome === "forwarded" && !untaken, deviceId: device.id, ...round, device: after }))
            } else {
                if (round.outcome === "forwarded")
                    say("round " + round.nonce!.slice(0, 8) + ": " + round.sent + " block(s)" + range + " -> gateway " + round.status + (round.ack !== undefined ? ", ack " + round.ack : "") + (round.error ? " (" + round.error + ")" : ""))
                else say("round " + round.nonce!.slice(0, 8) + ": " + round.error)
                if (after) say("  device backlog now " + after.backlog + " block(s) (oldest seq " + after.oldestSeq + ", next seq " + after.seq + ")")
                else if (round.outcome === "forwarded") say("  the device has not taken the reply yet")
                if (retry) say("  the device did not take this reply (its round ended first); serving its next round")
            }
            if (retry) continue
            if (once && untaken) return 1
            if (once) break
        }
        if (once && lastOutcome && lastOutcome.outcome !== "forwarded") return 1
        if (!once) say("bridge stopped after " + rounds + " round(s)")
        return 0
    } catch (e) {
        return fail(json, e)
    } finally {
        process.off("SIGINT", onSigint)
        await bus.close()
    }
}

function fail(json: boolean, e: unknown): number {
    if (!(e instanceof ProvisionError) && !(e instanceof BusError)) throw e
    if (json) console.log(JSON.stringify({ ok: false, error: e.code, message: e.message, hint: e.hint }))
    else console.error("fieldledger bridge: " + e.message + (e.hint ? "\n  hint: " + e.hint : ""))
    return 1
}
