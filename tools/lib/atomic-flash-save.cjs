// Preloaded (node --require) into the DeviceScript simulator for the power-cut harness: the
// simulator saves its whole flash image with fs.writeFileSync, and a kill in the middle of that
// truncates sim.bin, which real flash cannot do. Writing a temporary file and renaming it makes
// each save atomic, so a failure the harness sees is the firmware's, not the simulator's.
const fs = require("node:fs")

const writeFileSync = fs.writeFileSync
fs.writeFileSync = function (file, data, ...rest) {
    if (typeof file === "string" && file.endsWith("sim.bin")) {
        const tmp = file + ".tmp"
        writeFileSync(tmp, data, ...rest)
        fs.renameSync(tmp, file)
        return
    }
    return writeFileSync.call(this, file, data, ...rest)
}
