/**
 * The gateway's one error type: an HTTP status, a stable machine code and a sentence a person
 * can read, plus any extra JSON members (the signed ack on ingest replies) and headers (the
 * challenge of a 401). app.onError turns it into `{"error": code, "message": message, ...extra}`;
 * everything else becomes a 500.
 */
export class HttpError extends Error {
    constructor(
        readonly status: 400 | 401 | 404 | 409 | 413 | 415 | 422 | 500 | 503,
        readonly code: string,
        message: string,
        readonly extra: Record<string, unknown> = {},
        readonly headers: Record<string, string> = {}
    ) {
        super(message)
        this.name = "HttpError"
    }
}

/** The most characters of a request's own text (a path, an id, a query or body value) a reply repeats. */
export const MAX_ECHO_CHARS = 40

/**
 * A request's text as an error message may quote it: cut to MAX_ECHO_CHARS with an ellipsis.
 * Replies stay small (docs/API.md) whatever a client sends: a 10 KB id is not sent back.
 */
export function echo(text: string): string {
    // Cut by code point, so a surrogate pair is never split into a lone half.
    const chars = Array.from(text.length > 4 * MAX_ECHO_CHARS ? text.slice(0, 4 * MAX_ECHO_CHARS) : text)
    return chars.length > MAX_ECHO_CHARS ? chars.slice(0, MAX_ECHO_CHARS - 1).join("") + "…" : text
}
