/**
 * The gateway's admin routes as one group, mounted by app.ts under /v1: each route carries the
 * admin check (adminauth.ts) itself, so the read routes sharing their paths stay open.
 *
 *   GET  /v1/admin/check                a cheap look at the token: `fieldledger provision` asks
 *                                       before it touches a device
 *   POST /v1/devices                    register a device (and its signing key pk_0)
 *   POST /v1/devices/:id/succession     key succession (succession.ts)
 */
import { Hono } from "hono"
import { adminAuth } from "./adminauth"
import { readJsonObject } from "./jsonbody"
import { GatewayService, RegisterDevice } from "./service"
import { successionRoutes } from "./succession"

export function adminRoutes(service: GatewayService, adminToken: string | undefined): Hono {
    const auth = adminAuth(adminToken)
    return new Hono()
        .get("/admin/check", auth, c => c.json({ ok: true }))
        .post("/devices", auth, async c => {
            const input = await readJsonObject(c, '{"deviceId": "<16 hex>", "key0": "<64 hex>", "label"?: "...", "publicKey"?: "<64 hex>"}')
            const device = await service.register(input as unknown as RegisterDevice)
            return c.json(await service.deviceView(device), 201)
        })
        .route("/devices", successionRoutes(service, auth))
}
