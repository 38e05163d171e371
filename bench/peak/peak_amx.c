/* AMX-INT8 probe (peak.h): four independent accumulators fed by resident
 * tiles, so only tdpbsud's issue rate bounds the loop. Built with
 * -mamx-tile -mamx-int8 where the compiler has them (BN_AMX_KERNELS). */
#include <stdint.h>
#include <string.h>

#include "peak.h"

#if defined(BN_AMX_KERNELS)
#include <immintrin.h>

#include "peak_time.h"

static void amx_body(long iters) {
    struct {
        uint8_t palette, start_row, reserved[14];
        uint16_t bytes_per_row[16];
        uint8_t rows[16];
    } cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = 16;
        cfg.bytes_per_row[t] = 64;
    }
    _Alignas(64) static const uint8_t ones[16 * 64] = {1};
    _tile_loadconfig(&cfg);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, ones, 64);
    _tile_loadd(5, ones, 64);
    _tile_loadd(6, ones, 64);
    _tile_loadd(7, ones, 64);
    for (long it = 0; it < iters; it++) {
        _tile_dpbsud(0, 4, 6);
        _tile_dpbsud(1, 5, 6);
        _tile_dpbsud(2, 4, 7);
        _tile_dpbsud(3, 5, 7);
    }
    _tile_release();
}

double bn_peak_gmacs_amx(double min_seconds) {
    return peak_best_gmacs(amx_body, 20000, 4.0 * 16384, min_seconds);
}
#else
double bn_peak_gmacs_amx(double min_seconds) {
    (void)min_seconds;
    return 0;
}
#endif
