/**
 * fieldledger on the Seeed Studio XIAO ESP32C3 (boards/fl_xiao_esp32c3.board.json): the sensor I2C bus on
 * SDA_D4 / SCL_D5, then the common firmware (src/main.ts). docs/BOARDS.md has the wiring.
 */
import { configureHardware } from "@devicescript/servers"
import { pins } from "@dsboard/fl_xiao_esp32c3"

configureHardware({ i2c: { pinSDA: pins.SDA_D4, pinSCL: pins.SCL_D5, kHz: 100 } })

import "./main"
