/**
 * The public development K_0: an unprovisioned simulator seals under it so that `npm start`
 * and the tests can verify what it seals. Public by design, in the repository and in
 * docs/FORMAT.md; the firmware never uses it on hardware.
 */
export const SIMULATOR_DEV_KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
