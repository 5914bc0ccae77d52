/**
 * DeviceScript's `hex` template literal (a flash-resident Buffer on the device) for Node, so the
 * generated table src/lib/sign/basetable.ts loads in vitest. Import it before any sign module.
 */
const g = globalThis as unknown as { hex?: (lits: TemplateStringsArray) => Buffer }
if (!g.hex) g.hex = (lits: TemplateStringsArray) => Buffer.from(lits.raw.join("").replace(/\s+/g, ""), "hex")
export {}
