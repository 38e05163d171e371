/* The read-deadline watchdog (see http_guard.h). */
#include "http_guard.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "alloc.h"
#include "request.h"

struct bn_guarded_conn {
    int fd;
    bool reading; /* a deadline applies */
    bool killed;
    double since_ms;
    bn_guarded_conn *prev, *next;
};

struct bn_conn_guard {
    double deadline_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    uint64_t n_killed;
    bn_guarded_conn *head;
    pthread_t thread;
};

static void *watchdog(void *arg) {
    bn_conn_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000000L; /* ten checks a second */
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        double now = bn_serve_now_ms();
        for (bn_guarded_conn *c = g->head; c; c = c->next)
            if (c->reading && !c->killed && now - c->since_ms > g->deadline_ms) {
                /* shutdown, not close: the descriptor stays libmicrohttpd's */
                shutdown(c->fd, SHUT_RDWR);
                c->killed = true;
                g->n_killed++;
            }
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

bn_conn_guard *bn_conn_guard_new(double deadline_ms) {
    bn_conn_guard *g = bn_calloc(1, sizeof *g);
    if (!g) return NULL;
    g->deadline_ms = deadline_ms;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    bool ok = !pthread_mutex_init(&g->mu, NULL);
    if (ok && pthread_cond_init(&g->cv, &ca)) {
        pthread_mutex_destroy(&g->mu);
        ok = false;
    }
    pthread_condattr_destroy(&ca);
    if (ok && pthread_create(&g->thread, NULL, watchdog, g)) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        ok = false;
    }
    if (!ok) {
        bn_free(g);
        return NULL;
    }
    return g;
}

void bn_conn_guard_free(bn_conn_guard *g) {
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    while (g->head) {
        bn_guarded_conn *c = g->head;
        g->head = c->next;
        bn_free(c);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    bn_free(g);
}

bn_guarded_conn *bn_conn_guard_open(bn_conn_guard *g, int fd) {
    bn_guarded_conn *c = bn_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fd = fd;
    c->reading = true;
    c->since_ms = bn_serve_now_ms();
    pthread_mutex_lock(&g->mu);
    c->next = g->head;
    if (g->head) g->head->prev = c;
    g->head = c;
    pthread_mutex_unlock(&g->mu);
    return c;
}

void bn_conn_guard_close(bn_conn_guard *g, bn_guarded_conn *c) {
    if (!c) return;
    pthread_mutex_lock(&g->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&g->mu);
    bn_free(c);
}

void bn_conn_guard_request_read(bn_conn_guard *g, bn_guarded_conn *c) {
    if (!c) return;
    pthread_mutex_lock(&g->mu);
    c->reading = false;
    pthread_mutex_unlock(&g->mu);
}

void bn_conn_guard_request_done(bn_conn_guard *g, bn_guarded_conn *c) {
    if (!c) return;
    pthread_mutex_lock(&g->mu);
    c->reading = true;
    c->since_ms = bn_serve_now_ms();
    pthread_mutex_unlock(&g->mu);
}

uint64_t bn_conn_guard_n_killed(bn_conn_guard *g) {
    pthread_mutex_lock(&g->mu);
    uint64_t n = g->n_killed;
    pthread_mutex_unlock(&g->mu);
    return n;
}
