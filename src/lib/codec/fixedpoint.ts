/** Conversion of sensor floats to the ledger's fixed-point integers (FORMAT.md, "Readings"). */
import { MAX_EXPONENT, MAX_READING, MIN_READING } from "./format"
import { MISSING } from "./readings"

const POW10: number[] = [1]
while (POW10.length <= 2 * MAX_EXPONENT) POW10.push(POW10[POW10.length - 1] * 10)

/**
 * `value` in units of 10^exponent, rounded to the nearest integer (halves away from zero); MISSING when the value is
 * not a finite number or does not fit 32 bits (a broken sensor must never crash the ledger).
 */
export function toFixedPoint(value: number, exponent: number): number | null {
    if (typeof value !== "number" || !(value === value) || value === Infinity || value === -Infinity) return MISSING
    const scaled = exponent <= 0 ? value * POW10[-exponent] : value / POW10[exponent]
    // Half away from zero, so readings round the same either side of zero; `+ 0` turns -0 into 0.
    const rounded = (scaled < 0 ? -Math.round(-scaled) : Math.round(scaled)) + 0
    if (rounded < MIN_READING || rounded > MAX_READING) return MISSING
    return rounded
}

/** The physical value a fixed-point integer stands for. */
export function fromFixedPoint(value: number, exponent: number): number {
    return exponent <= 0 ? value / POW10[-exponent] : value * POW10[exponent]
}
