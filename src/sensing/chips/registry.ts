/** fieldledger's driver for each I2C sensor kind (src/lib/sensors/sensorkinds.ts), on a given bus. */
import { I2C } from "@devicescript/i2c"
import { Aht20Chip } from "./aht20"
import { Bme680Chip } from "./bme680"
import { SensorChip } from "./chip"
import { Ltr390Chip } from "./ltr390"
import { Sht30Chip } from "./sht30"
import { Shtc3Chip } from "./shtc3"

/** The chip driver for sensor kind `id`, or undefined when fieldledger has none for it. */
export function newSensorChip(id: string, bus: I2C): SensorChip | undefined {
    if (id === "shtc3") return new Shtc3Chip(bus)
    if (id === "sht30") return new Sht30Chip(bus)
    if (id === "aht20") return new Aht20Chip(bus)
    if (id === "bme680") return new Bme680Chip(bus)
    if (id === "ltr390") return new Ltr390Chip(bus)
    return undefined
}
