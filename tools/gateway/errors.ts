/**
 * The gateway's one error type: an HTTP status, a stable machine code and a sentence a person
 * can read, plus any extra JSON members (the signed ack on ingest replies). app.onError turns
 * it into `{"error": code, "message": message, ...extra}`; everything else becomes a 500.
 */
export class HttpError extends Error {
    constructor(
        readonly status: 400 | 401 | 404 | 409 | 413 | 415 | 422 | 500,
        readonly code: string,
        message: string,
        readonly extra: Record<string, unknown> = {}
    ) {
        super(message)
        this.name = "HttpError"
    }
}
