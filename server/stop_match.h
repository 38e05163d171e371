/* Stop strings across token boundaries. The text generated but not yet sent
 * ("pending") is scanned after every token: a stop string anywhere in it
 * ends the request there; otherwise everything may be sent except the
 * longest tail that could still grow into a stop string, so a stop string is
 * never sent in part. */
#ifndef BN_SERVE_STOP_MATCH_H
#define BN_SERVE_STOP_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Scans pending[0..len). When a stop string occurs, sets *found and returns
 * the offset of the earliest occurrence (the text before it is the output).
 * Otherwise returns how many leading bytes are safe to send. */
size_t bn_stop_scan(const char *pending, size_t len, char *const *stops, int32_t n_stop,
                    bool *found);

#endif
