import * as ds from "@devicescript/core"
import { describe, test } from "@devicescript/test"
import { mulLoop16, mulUnrolled16 } from "../../src/lib/sign/scratchmul"

const K = 50
async function phase(name: string, work: (i: number) => void) {
    const t0 = ds.millis()
    for (let i = 0; i < K; i++) {
        work(i)
        await ds.sleep(0)
    }
    console.log("fl:time " + name + " us=" + Math.round(((ds.millis() - t0) * 1000) / K))
}
function f(a: number): number {
    return a
}
describe("sign scratch", () => {
    test("prims", async () => {
        const a: number[] = []
        const b: number[] = []
        const o: number[] = []
        for (let i = 0; i < 16; i++) {
            a.push(1000 + i * 3001)
            b.push(60000 - i * 7)
            o.push(0)
        }
        const buf = Buffer.alloc(64)
        await phase("none", i => {})
        await phase("1000 loop iters", i => {
            let x = 0
            for (let j = 0; j < 1000; j++) x += j
        })
        await phase("1000 local mul-add", i => {
            let x = 0
            const y = 3.5
            for (let j = 0; j < 1000; j++) x = x + y * y + y * y + y * y + y * y + y * y + y * y + y * y + y * y + y * y + y * y
        })
        await phase("1000 iters: 10 array reads", i => {
            let x = 0
            for (let j = 0; j < 1000; j++) x = x + a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7] + a[8] + a[9]
        })
        await phase("1000 iters: 10 buf reads", i => {
            let x = 0
            for (let j = 0; j < 1000; j++) x = x + buf[0] + buf[1] + buf[2] + buf[3] + buf[4] + buf[5] + buf[6] + buf[7] + buf[8] + buf[9]
        })
        await phase("1000 iters: 10 floor", i => {
            let x = 0
            const y = 12345678.5
            for (let j = 0; j < 1000; j++) x = x + Math.floor(y) + Math.floor(y) + Math.floor(y) + Math.floor(y) + Math.floor(y) + Math.floor(y) + Math.floor(y) + Math.floor(y) + Math.floor(y) + Math.floor(y)
        })
        await phase("1000 iters: 10 |0", i => {
            let x = 0
            const y = 12345678.5
            for (let j = 0; j < 1000; j++) x = x + (y | 0) + (y | 0) + (y | 0) + (y | 0) + (y | 0) + (y | 0) + (y | 0) + (y | 0) + (y | 0) + (y | 0)
        })
        await phase("100 calls", i => {
            let x = 0
            for (let j = 0; j < 100; j++) x += f(j)
        })
        await phase("10 mulUnrolled16", i => {
            for (let j = 0; j < 10; j++) mulUnrolled16(o, a, b)
        })
        await phase("10 mulLoop16", i => {
            for (let j = 0; j < 10; j++) mulLoop16(o, a, b)
        })
        // int conversion semantics
        const big = 4294967296 * 3 + 5
        console.log("fl:conv " + (big | 0) + " " + (big >>> 0) + " " + ((big + 0.5) | 0) + " " + ((-7.5) | 0) + " " + (2147483648 | 0) + " " + ((0x80000000 + 5) >>> 0))
    })
})
