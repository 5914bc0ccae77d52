/**
 * DeviceScript's `hex` template literal, declared for the Node typecheck (tools/tsconfig.json):
 * on the device it is a flash-resident Buffer (declared by @devicescript/core); under vitest,
 * test/node/lib/sign/hexshim.ts defines it. Same signature as DeviceScript's, so both merge.
 */
declare function hex(lits: any, ...args: any[]): Buffer
