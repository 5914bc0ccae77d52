/**
 * The op meters' calibration loop (test/harness/opcost-device.ts, test/harness/sign-device.ts):
 * counts its iterations, printing "fl:meter <n>" every 32, until the fiber's op budget runs out
 * (InfiniteLoop, on purpose; the last line counts). One loop for every meter, so that a count
 * and the "none" count it is compared with are of the same iterations.
 */
export function meterOpsLeft(): void {
    let n = 0
    let x = 0
    for (;;) {
        n++
        x += n
        if ((n & 31) === 0) console.log("fl:meter " + n)
    }
}
