/**
 * The runtime's native crypto against published vectors (RFC 4231 HMAC-SHA256, FIPS 180-2
 * SHA-256), through the same LedgerCrypto adapter the firmware seals with.
 */
import { describe, expect, test } from "@devicescript/test"
import { deviceCrypto } from "../../src/device/crypto"
import { copyBytes } from "../../src/lib/codec/bytes"

function filled(byte: number, length: number): Buffer {
    const b = Buffer.alloc(length)
    for (let i = 0; i < length; i++) b[i] = byte
    return b
}

function counting(length: number): Buffer {
    const b = Buffer.alloc(length)
    for (let i = 0; i < length; i++) b[i] = i + 1
    return b
}

interface HmacCase {
    name: string
    key: Buffer
    data: Buffer
    mac: string
}

// RFC 4231 section 4, test cases 1-7; case 5 is defined truncated to 128 bits.
const RFC4231: HmacCase[] = [
    {
        name: "1",
        key: filled(0x0b, 20),
        data: Buffer.from("Hi There"),
        mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    },
    {
        name: "2",
        key: Buffer.from("Jefe"),
        data: Buffer.from("what do ya want for nothing?"),
        mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    },
    { name: "3", key: filled(0xaa, 20), data: filled(0xdd, 50), mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
    { name: "4", key: counting(25), data: filled(0xcd, 50), mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
    { name: "5", key: filled(0x0c, 20), data: Buffer.from("Test With Truncation"), mac: "a3b6167473100ee06e0c796c2955552b" },
    {
        name: "6",
        key: filled(0xaa, 131),
        data: Buffer.from("Test Using Larger Than Block-Size Key - Hash Key First"),
        mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    },
    {
        name: "7",
        key: filled(0xaa, 131),
        data: Buffer.from(
            "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
        ),
        mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    },
]

describe("native crypto", () => {
    test("HMAC-SHA256 matches RFC 4231 test cases 1-7", () => {
        for (const c of RFC4231) {
            const mac = deviceCrypto.hmacSha256(c.key, c.data)
            const got = copyBytes(mac, 0, c.mac.length / 2).toString("hex")
            if (got !== c.mac) console.log("RFC 4231 case " + c.name + ": got " + got)
            expect(got).toBe(c.mac)
        }
    })

    test("SHA-256 matches the FIPS 180-2 vectors", () => {
        expect(deviceCrypto.sha256(Buffer.from("abc")).toString("hex")).toBe(
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        expect(deviceCrypto.sha256(Buffer.alloc(0)).toString("hex")).toBe(
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
        expect(deviceCrypto.sha256(Buffer.from("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toString("hex")).toBe(
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
    })
})
