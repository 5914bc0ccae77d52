/**
 * `fieldledger bridge`: USB sync for a board without a network (docs/PROVISIONING.md, "USB
 * sync"). Thin: the bus is tools/lib/jacdacbus.ts, the logic tools/lib/bridge.ts. Runs until
 * Ctrl-C, or one forwarded round with --once. Exit 0 done, 1 failed, 2 usage.
 */
import { CommandLine, commandLine, deviceIdOption, gatewayOption, UsageError } from "./lib/args"
import { awaitDeviceTook, BridgeOptions, BridgeRound, bridgeRound, checkUsbMode, readDeviceHead } from "./lib/bridge"
import { nobleCrypto } from "./lib/crypto"
import { BusError, FieldBus, openBus } from "./lib/jacdacbus"
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

interface BridgePlan {
    gateway: string
    wanted?: string
    once: boolean
    timeoutS: number
    json: boolean
    say(line: string): void
}

function bridgePlan(cli: CommandLine): BridgePlan {
    if (cli.boolean("sim") && cli.string("port")) throw new UsageError("--sim and --port exclude each other")
    const gateway = gatewayOption(cli, "gateway")
    if (!gateway) throw new UsageError("--gateway http(s)://host:port is required: where the device's blocks go")
    const timeoutText = cli.string("timeout")
    if (timeoutText !== undefined && !/^\d{1,6}$/.test(timeoutText)) throw new UsageError("--timeout must be whole seconds")
    const json = cli.boolean("json")
    return {
        gateway,
        wanted: deviceIdOption(cli, "device"),
        once: cli.boolean("once"),
        timeoutS: timeoutText === undefined ? 120 : Number(timeoutText),
        json,
        say: line => {
            if (!json) console.log(line)
        },
    }
}

/** Ctrl-C as a flag the loop reads, and a pause it cuts short. */
function interruption() {
    let stopped = false
    let wake: () => void = () => {}
    const onSigint = () => {
        stopped = true
        wake()
    }
    process.once("SIGINT", onSigint)
    return {
        stopped: () => stopped,
        pause: (ms: number) =>
            new Promise<void>(resolve => {
                const t = setTimeout(resolve, ms)
                wake = () => {
                    clearTimeout(t)
                    resolve()
                }
            }),
        dispose: () => process.off("SIGINT", onSigint),
    }
}

/** The device to bridge: on the bus, in USB mode, with a chain; says what it holds. */
async function attach(bus: FieldBus, plan: BridgePlan): Promise<BridgeOptions> {
    const device = await pickDevice(bus, plan.wanted)
    await checkUsbMode(device.settings, device.id)
    const head = await readDeviceHead(device.settings, nobleCrypto, device.id)
    if (!head)
        throw new ProvisionError(
            "no-chain",
            "device " + device.id + " has no chain in flash yet",
            "let it boot and seal its genesis block (or provision it)"
        )
    const backlog = backlogOf(head)
    head.key.fill(0)
    plan.say(
        "bridge: device " +
            device.id +
            " on " +
            bus.description +
            " -> " +
            plan.gateway +
            " (" +
            backlog +
            " block(s) in its backlog); waiting for its sync round" +
            (plan.once ? "" : ", Ctrl-C stops")
    )
    return { settings: device.settings, crypto: nobleCrypto, deviceId: device.id, gatewayUrl: plan.gateway }
}

type DeviceAfter = Awaited<ReturnType<typeof awaitDeviceTook>>

function reportRound(
    plan: BridgePlan,
    deviceId: string,
    round: BridgeRound,
    after: DeviceAfter | undefined,
    untaken: boolean,
    retry: boolean
) {
    if (plan.json) {
        if (!retry) console.log(JSON.stringify({ ok: round.outcome === "forwarded" && !untaken, deviceId, ...round, device: after }))
        return
    }
    const range = round.sent ? " seq " + round.firstSeq + ".." + round.lastSeq : ""
    if (round.outcome === "forwarded")
        plan.say(
            "round " +
                round.nonce!.slice(0, 8) +
                ": " +
                round.sent +
                " block(s)" +
                range +
                " -> gateway " +
                round.status +
                (round.ack !== undefined ? ", ack " + round.ack : "") +
                (round.log ? ", logged at leaf " + round.log.index + " (log size " + round.log.size + ")" : "") +
                (round.error ? " (" + round.error + ")" : "")
        )
    else plan.say("round " + round.nonce!.slice(0, 8) + ": " + round.error)
    if (after)
        plan.say("  device backlog now " + after.backlog + " block(s) (oldest seq " + after.oldestSeq + ", next seq " + after.seq + ")")
    else if (round.outcome === "forwarded") plan.say("  the device has not taken the reply yet")
    if (retry) plan.say("  the device did not take this reply (its round ended first); serving its next round")
}

/** With --once, nothing came within --timeout: which of the two ways it failed. */
function timedOut(plan: BridgePlan, deviceId: string, untaken: boolean): ProvisionError {
    if (untaken)
        return new ProvisionError(
            "ack-not-taken",
            "device " +
                deviceId +
                " did not take the gateway's acknowledgement within " +
                plan.timeoutS +
                " s (the gateway holds the blocks; the device keeps them until it does)",
            "run the bridge again; if it keeps failing, see the device's fl:sync lines"
        )
    return new ProvisionError(
        "no-round",
        "device " + deviceId + " did not start a sync round within " + plan.timeoutS + " s",
        "it asks every FL_SYNC_MS and backs off up to FL_BACKOFF_MS while no bridge answers: run the bridge longer (without --once), or restart the device's program"
    )
}

/** Serves the device's sync rounds until Ctrl-C, or one round taken with --once; the exit status. */
async function serveRounds(plan: BridgePlan, options: BridgeOptions, stop: ReturnType<typeof interruption>): Promise<number> {
    const served = new Set<string>()
    const deadline = Date.now() + plan.timeoutS * 1000
    let rounds = 0
    let lastOutcome: BridgeRound | undefined
    /** A forwarded round whose acknowledgement the device has not taken (--once goes on). */
    let untaken = false
    while (!stop.stopped()) {
        const round = await bridgeRound(options, served)
        if (round.outcome === "idle") {
            if (plan.once && Date.now() > deadline) throw timedOut(plan, options.deviceId, untaken)
            await stop.pause(POLL_MS)
            continue
        }
        rounds++
        lastOutcome = round
        const after = round.outcome === "forwarded" ? await awaitDeviceTook(options, round.nonce!, 35000, round.ack ?? -1) : undefined
        // The device's round may have timed out before the reply came (a slow bus or
        // gateway): with --once, serve its next round instead of reporting a round it
        // never took. The gateway answers the re-sent blocks as duplicates.
        untaken = round.outcome === "forwarded" && round.ack !== undefined && !(after && after.tookAck)
        const retry = plan.once && untaken && Date.now() <= deadline
        reportRound(plan, options.deviceId, round, after, untaken, retry)
        if (retry) continue
        if (plan.once) return untaken || round.outcome !== "forwarded" ? 1 : 0
    }
    if (plan.once && lastOutcome && lastOutcome.outcome !== "forwarded") return 1
    if (!plan.once) plan.say("bridge stopped after " + rounds + " round(s)")
    return 0
}

export async function runBridge(argv: string[]): Promise<number> {
    const cli = commandLine(
        argv,
        {
            sim: { type: "boolean" },
            port: { type: "string" },
            device: { type: "string" },
            gateway: { type: "string" },
            once: { type: "boolean" },
            timeout: { type: "string" },
            json: { type: "boolean" },
            verbose: { type: "boolean" },
        },
        BRIDGE_HELP
    )
    if (!cli) return 0
    const plan = bridgePlan(cli)
    const stop = interruption()
    let bus: FieldBus | undefined
    try {
        bus = await openBus({ sim: cli.boolean("sim"), port: cli.string("port"), verbose: cli.boolean("verbose") })
        return await serveRounds(plan, await attach(bus, plan), stop)
    } catch (e) {
        return fail(plan.json, e)
    } finally {
        stop.dispose()
        await bus?.close()
    }
}

function fail(json: boolean, e: unknown): number {
    if (!(e instanceof ProvisionError) && !(e instanceof BusError)) throw e
    if (json) console.log(JSON.stringify({ ok: false, error: e.code, message: e.message, hint: e.hint }))
    else console.error("fieldledger bridge: " + e.message + (e.hint ? "\n  hint: " + e.hint : ""))
    return 1
}
