/** Reading the JSON object body of an admin request. */
import type { Context } from "hono"
import { HttpError } from "./errors"

/** The request's body as a JSON object; HttpError 400 naming `shape` (what it should be) otherwise. */
export async function readJsonObject(c: Context, shape: string): Promise<Record<string, unknown>> {
    let input: unknown
    try {
        input = await c.req.json()
    } catch (e) {
        throw new HttpError(400, "bad-request", "the body must be JSON: " + shape)
    }
    if (typeof input !== "object" || input === null || Array.isArray(input))
        throw new HttpError(400, "bad-request", "the body must be a JSON object: " + shape)
    return input as Record<string, unknown>
}
