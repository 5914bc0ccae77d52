/**
 * fieldledger on the Raspberry Pi Pico W (boards/fl_pico_w.board.json): the sensor I2C bus on
 * GP4 / GP5, then the common firmware (src/main.ts). docs/BOARDS.md has the wiring.
 */
import { configureHardware } from "@devicescript/servers"
import { pins } from "@dsboard/fl_pico_w"

configureHardware({ i2c: { pinSDA: pins.GP4, pinSCL: pins.GP5, kHz: 100 } })

import "./main"
