// esbuild injects this into the browser bundle (tools/dashboard/bundle.ts): the shared codec
// uses the global Buffer of Node and DeviceScript, which a browser does not have.
export { Buffer } from "buffer"
