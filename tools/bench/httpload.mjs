// A GET load generator for the benchmarks, run in a process of its own so that the measured
// server's process does nothing else: `connections` kept-alive HTTP/1.1 connections to
// 127.0.0.1, one request in flight on each (as wrk does), `requests` in all. Plain sockets
// rather than fetch or an http.Agent: on a 2-core machine the client shares the cores with
// the server, and fetch spent more CPU per request than the server it measured. Each answer
// must be a 200 with a Content-Length body (what the gateway sends for these routes).
//
// argv[2]: JSON {port, connections, requests, path, randomBelow?, timeoutMs?}; "{i}" in path is
// replaced by a pseudo-random whole number below randomBelow (a fixed seed: every run asks for
// the same leaves). Prints JSON {requests, bytes, seconds}; exits 1 with a message on any failure.
import net from "node:net"

const { port, connections, requests, path, randomBelow = 1, timeoutMs = 120_000 } = JSON.parse(process.argv[2])
let seed = 16
const nextPath = () => path.replace("{i}", () => String((seed = (seed * 1103515245 + 12345) % 2147483648) % randomBelow))
const HEADER_END = Buffer.from("\r\n\r\n")

let left = requests
let bytes = 0

function connection() {
    return new Promise((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1")
        socket.setNoDelay(true)
        let buffered = Buffer.alloc(0)
        let waiting = false
        const send = () => {
            if (left === 0) {
                socket.end()
                return resolve()
            }
            left--
            waiting = true
            socket.write("GET " + nextPath() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        }
        socket.on("connect", send)
        socket.on("data", chunk => {
            buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
            const end = buffered.indexOf(HEADER_END)
            if (end < 0) return
            const head = buffered.toString("latin1", 0, end)
            const length = /\r\ncontent-length: *(\d+)/i.exec(head)
            if (!head.startsWith("HTTP/1.1 200 ") || !length) {
                socket.destroy()
                return reject(new Error("answer " + JSON.stringify(head.split("\r\n")[0]) + (length ? "" : " without a Content-Length")))
            }
            const total = end + HEADER_END.length + Number(length[1])
            if (buffered.length < total) return
            if (buffered.length > total) return reject(new Error("more bytes than one answer (the server sent unasked)"))
            bytes += Number(length[1])
            buffered = Buffer.alloc(0)
            waiting = false
            send()
        })
        socket.on("error", reject)
        socket.on("close", () => {
            if (waiting) reject(new Error("the server closed a connection with a request in flight"))
        })
    })
}

const timer = setTimeout(() => {
    console.error("httpload: not done after " + timeoutMs + " ms (" + (requests - left) + " of " + requests + " sent)")
    process.exit(1)
}, timeoutMs)
const start = performance.now()
try {
    await Promise.all(Array.from({ length: connections }, connection))
    const seconds = (performance.now() - start) / 1000
    clearTimeout(timer)
    console.log(JSON.stringify({ requests, bytes, seconds }))
} catch (e) {
    console.error("httpload: " + e.message)
    process.exit(1)
}
