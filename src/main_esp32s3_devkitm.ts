/**
 * fieldledger on the Espressif ESP32-S3 DevKitM (boards/fl_esp32s3_devkitm.board.json): the sensor I2C bus on
 * P8 / P9, then the common firmware (src/main.ts). docs/BOARDS.md has the wiring.
 */
import { configureHardware } from "@devicescript/servers"
import { pins } from "@dsboard/fl_esp32s3_devkitm"

configureHardware({ i2c: { pinSDA: pins.P8, pinSCL: pins.P9, kHz: 100 } })

import "./main"
