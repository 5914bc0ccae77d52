/**
 * The Jacdac bus as the technician tools see it: fieldledger devices over USB serial
 * (jacdac-ts `createNodeWebSerialTransport` with `serialport`) or in the simulator through the
 * `devs devtools` bus (TCP 127.0.0.1:8082, `createNodeSocketTransport`). One code path for both:
 * each device is its id, what its control and DeviceScript manager services say, its Settings
 * service (get / set / delete) and a way to restart its program.
 *
 * jacdac-ts is loaded through `require`: its ESM build calls `require("net")` inside the socket
 * transport, which does not exist in an ES module and fails without a word.
 */
import { accessSync, constants as fsConstants, existsSync } from "node:fs"
import { createRequire } from "node:module"
import type { DeviceSettings } from "./provisioning"

const require = createRequire(import.meta.url)

export const DEVTOOLS_HOST = "127.0.0.1"
export const DEVTOOLS_TCP_PORT = 8082

/** A bus problem a person can act on: the message says what, the hint what to do. */
export class BusError extends Error {
    constructor(
        message: string,
        readonly hint?: string,
        readonly code = "bus"
    ) {
        super(message)
        this.name = "BusError"
    }
}

export interface BusDeviceInfo {
    /** 16 hex digits. */
    id: string
    description?: string
    firmwareVersion?: string
    /** The DeviceScript program (undefined: the device runs no DeviceScript). */
    programName?: string
    programVersion?: string
    runtimeVersion?: string
    hasSettings: boolean
}

export interface BusDevice extends BusDeviceInfo {
    settings: DeviceSettings
    /** Stops and starts the DeviceScript program (it boots again from flash). */
    restartProgram(): Promise<void>
    /** Adds a WiFi network through the device's WiFi service; undefined: it has none (a Pico). */
    addWifiNetwork?(ssid: string, password: string): Promise<void>
}

export interface FieldBus {
    /** What the bus is connected to, for messages. */
    readonly description: string
    /** Devices that announced themselves and answered, this host's own device excluded. */
    devices(): Promise<BusDevice[]>
    close(): Promise<void>
}

export interface OpenBusOptions {
    /** The simulator's devtools bus instead of USB serial. */
    sim?: boolean
    /** Serial port path (e.g. /dev/ttyACM0); without it the ports are listed. */
    port?: string
    /** devtools TCP port (tests). */
    tcpPort?: number
    /** How long to listen for announcements (ms). */
    discoverMs?: number
    /** Show jacdac-ts's own debug lines. */
    verbose?: boolean
}

/** USB vendor ids of the boards fieldledger targets (and common USB-serial bridges on them). */
const KNOWN_VENDOR_IDS = ["303a", "2e8a", "10c4", "1a86", "0403", "239a"]

interface PortInfo {
    path: string
    vendorId?: string
    productId?: string
    serialNumber?: string
    manufacturer?: string
}

/** The serial ports that may hold a fieldledger board; hints for the errors a technician meets. */
export async function listSerialPorts(): Promise<PortInfo[]> {
    const { SerialPort } = require("serialport")
    try {
        return (await SerialPort.list()) as PortInfo[]
    } catch (e) {
        const message = (e as Error).message ?? String(e)
        if (/udevadm/.test(message) && /ENOENT/.test(message))
            throw new BusError(
                "cannot list serial ports: " + message,
                "SerialPort.list() needs udevadm: install it (Debian/Ubuntu: sudo apt install udev) or name the port with --port /dev/ttyACM0",
                "no-udevadm"
            )
        throw new BusError("cannot list serial ports: " + message, "name the port with --port /dev/ttyACM0", "serial-list")
    }
}

/** Checks that `path` exists and can be opened for reading and writing. */
export function checkPortAccess(path: string) {
    if (!existsSync(path))
        throw new BusError(
            "serial port " + path + " does not exist",
            "is the board plugged in? `ls /dev/ttyACM* /dev/ttyUSB*` lists the candidates",
            "no-port"
        )
    try {
        accessSync(path, fsConstants.R_OK | fsConstants.W_OK)
    } catch (e) {
        throw new BusError(
            "permission denied on " + path,
            'add yourself to the group that owns it (Debian/Ubuntu: sudo usermod -aG dialout $USER, then log in again) or install a udev rule, e.g. SUBSYSTEM=="tty", ATTRS{idVendor}=="303a", MODE="0660", GROUP="plugdev"',
            "permission"
        )
    }
}

/** Picks the one serial port to use: the given one, or the only candidate. */
export async function resolveSerialPort(port?: string): Promise<string> {
    if (port) {
        checkPortAccess(port)
        return port
    }
    const ports = await listSerialPorts()
    const candidates = ports.filter(
        p => /^(PX|JD)/.test(p.serialNumber ?? "") || KNOWN_VENDOR_IDS.includes((p.vendorId ?? "").toLowerCase())
    )
    if (candidates.length === 0)
        throw new BusError(
            "no device found on USB serial" + (ports.length ? " (ports seen: " + ports.map(p => p.path).join(", ") + ")" : ""),
            "plug the board in with a data cable, or name the port with --port",
            "no-device"
        )
    if (candidates.length > 1)
        throw new BusError(
            "several serial ports: " + candidates.map(p => p.path + (p.manufacturer ? " (" + p.manufacturer + ")" : "")).join(", "),
            "choose one with --port PATH",
            "several-ports"
        )
    checkPortAccess(candidates[0].path)
    return candidates[0].path
}

/**
 * A `SerialPort` class for jacdac-ts that only ever offers `path`: jacdac-ts lists ports itself
 * and opens the first that looks like a Jacdac device, silently; here the choice (and its
 * errors) is ours.
 */
function fixedPortClass(path: string) {
    const { SerialPort } = require("serialport")
    return class FixedSerialPort extends SerialPort {
        static async list() {
            return [{ path, serialNumber: "JD-fieldledger", vendorId: "303a", productId: "0000" }]
        }
    }
}

/**
 * jacdac-ts's serial transport polls for port changes with a setInterval it never clears; the
 * handle is caught here and unref'd so that it cannot keep the command alive.
 */
function withUnrefIntervals<T>(make: () => T): T {
    const original = globalThis.setInterval
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
        const handle = original(...args)
        handle.unref?.()
        return handle
    }) as typeof setInterval
    try {
        return make()
    } finally {
        globalThis.setInterval = original
    }
}

const delay = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

async function readRegister(jd: any, service: any, reg: number): Promise<any> {
    if (!service) return undefined
    try {
        const r = service.register(reg)
        await Promise.race([r.refresh(), delay(1500)])
        const v = r.unpackedValue
        return v && v.length ? v[0] : undefined
    } catch (e) {
        return undefined
    }
}

function settingsOf(jd: any, service: any, id: string): DeviceSettings {
    const client = service ? new jd.SettingsClient(service) : undefined
    const need = () => {
        if (!client) throw new BusError("device " + id + " has no Settings service", "is it running DeviceScript firmware?", "no-settings")
        return client
    }
    return {
        // Not SettingsClient.getValue: it takes the next `get` report on the bus, also one the
        // device's own program asked for (the firmware reads settings all the time, USB sync
        // polls one), and then answers undefined for a key that exists. Here an answer for
        // another key is skipped and the question asked again.
        get: async key => {
            need()
            for (let attempt = 0; attempt < 8; attempt++) {
                const resp = await service.sendCmdAwaitResponseAsync(jd.Packet.from(jd.SettingsCmd.Get, jd.jdpack("s", [key])))
                const [rkey, value] = jd.jdunpack(resp.data, "z b") as [string, Uint8Array]
                if (rkey === key) return value && value.length > 0 ? Buffer.from(value) : undefined
            }
            throw new BusError(
                "device " + id + " kept answering for other settings than " + key,
                "try again; is another tool reading its settings?",
                "bus"
            )
        },
        set: async (key, value) => await need().setValue(key, new Uint8Array(value)),
        delete: async key => await need().deleteValue(key),
    }
}

export async function openBus(options: OpenBusOptions): Promise<FieldBus> {
    const jd = require("jacdac-ts")
    let transport: any
    let description: string
    if (options.sim) {
        const tcpPort = options.tcpPort ?? DEVTOOLS_TCP_PORT
        transport = jd.createNodeSocketTransport(tcpPort, DEVTOOLS_HOST)
        description = "the simulator's devtools bus (tcp://" + DEVTOOLS_HOST + ":" + tcpPort + ")"
    } else {
        const path = await resolveSerialPort(options.port)
        transport = withUnrefIntervals(() => jd.createNodeWebSerialTransport(fixedPortClass(path)))
        description = "USB serial " + path
    }
    const debug = console.debug
    if (!options.verbose) console.debug = () => {}
    // A client only: no role manager (it would rebind the device's roles), no dashboard.
    const bus = new jd.JDBus([transport], { client: true, disableRoleManager: true })
    let closed = false
    const close = async () => {
        if (closed) return
        closed = true
        try {
            await bus.disconnect()
        } catch (e) {
            // closing anyway
        }
        bus.dispose?.()
        console.debug = debug
    }
    try {
        await bus.connect(false)
    } catch (e) {
        await close()
        throw new BusError(
            "cannot connect to " + description + ": " + (e as Error).message,
            options.sim
                ? "start the simulator first (npx devs devtools, then npx devs run src/main.ts --tcp)"
                : "is another program (VS Code, a terminal) holding the port?",
            "connect"
        )
    }
    if (!bus.connected) {
        await close()
        throw new BusError(
            "cannot connect to " + description,
            options.sim
                ? "start the simulator first: npx devs devtools, and a device: npx devs run src/main.ts --tcp"
                : "is the board running DeviceScript firmware, and no other program holding the port?",
            "connect"
        )
    }
    const discoverMs = options.discoverMs ?? 2500
    await delay(discoverMs)
    return {
        description,
        devices: async () => {
            const out: BusDevice[] = []
            for (const d of bus.devices({ ignoreInfrastructure: true })) {
                if (d.deviceId === bus.selfDeviceId) continue
                const control = d.services({ serviceClass: jd.SRV_CONTROL })[0]
                const manager = d.services({ serviceClass: jd.SRV_DEVICE_SCRIPT_MANAGER })[0]
                const settings = d.services({ serviceClass: jd.SRV_SETTINGS })[0]
                const wifi = d.services({ serviceClass: jd.SRV_WIFI })[0]
                const info: BusDevice = {
                    id: d.deviceId,
                    description: await readRegister(jd, control, jd.ControlReg.DeviceDescription),
                    firmwareVersion: await readRegister(jd, control, jd.ControlReg.FirmwareVersion),
                    programName: await readRegister(jd, manager, jd.DeviceScriptManagerReg.ProgramName),
                    programVersion: await readRegister(jd, manager, jd.DeviceScriptManagerReg.ProgramVersion),
                    hasSettings: !!settings,
                    settings: settingsOf(jd, settings, d.deviceId),
                    restartProgram: async () => {
                        if (!manager)
                            throw new BusError("device " + d.deviceId + " runs no DeviceScript program to restart", undefined, "no-program")
                        const running = manager.register(jd.DeviceScriptManagerReg.Running)
                        await running.sendSetBoolAsync(false, true)
                        await delay(300)
                        await running.sendSetBoolAsync(true, true)
                    },
                }
                if (wifi)
                    info.addWifiNetwork = async (ssid, password) =>
                        await wifi.sendCmdPackedAsync(jd.WifiCmd.AddNetwork, [ssid, password], true)
                // The runtime version comes as one packed number (major, minor, patch).
                await readRegister(jd, manager, jd.DeviceScriptManagerReg.RuntimeVersion)
                const rv = manager ? manager.register(jd.DeviceScriptManagerReg.RuntimeVersion).unpackedValue : undefined
                if (rv && rv.length === 3) info.runtimeVersion = rv[2] + "." + rv[1] + "." + rv[0]
                out.push(info)
            }
            return out
        },
        close,
    }
}
