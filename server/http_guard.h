/* Deadlines for reading requests (catalogue H5, slowloris). libmicrohttpd's
 * own timeout is an inactivity timeout: a client sending one header byte a
 * second is never idle. The guard gives every request a deadline from the
 * moment the connection opened (or its previous response finished) until the
 * request, body included, has been read; a watchdog thread shuts down the
 * socket of a connection past it, which makes libmicrohttpd close it.
 * Generating and sending have no deadline: the scheduler bounds those. */
#ifndef BN_SERVE_HTTP_GUARD_H
#define BN_SERVE_HTTP_GUARD_H

#include <stdint.h>

typedef struct bn_conn_guard bn_conn_guard;
typedef struct bn_guarded_conn bn_guarded_conn;

bn_conn_guard *bn_conn_guard_new(double deadline_ms); /* NULL when out of memory */
void bn_conn_guard_free(bn_conn_guard *g);

bn_guarded_conn *bn_conn_guard_open(bn_conn_guard *g, int fd); /* NULL: not guarded */
void bn_conn_guard_close(bn_conn_guard *g, bn_guarded_conn *c);
/* The request is read: no deadline until it is answered. */
void bn_conn_guard_request_read(bn_conn_guard *g, bn_guarded_conn *c);
/* The response is done: the next request must be read within the deadline. */
void bn_conn_guard_request_done(bn_conn_guard *g, bn_guarded_conn *c);
/* Connections closed for missing their deadline so far. */
uint64_t bn_conn_guard_n_killed(bn_conn_guard *g);

#endif
