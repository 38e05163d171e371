/* Child processes with pipes and deadlines. Every wait is bounded by poll()
 * so a hung baseline becomes a report entry ("timed out after N s"), never a
 * hung harness. */
#ifndef BV_SUBPROC_H
#define BV_SUBPROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "vutil.h"

enum { SP_TIMEOUT = -1000, SP_SPAWN_FAILED = -1001, SP_SIGNALED = -1002 };

/* Runs argv to completion (stdin from /dev/null unless `input`), capturing
 * stdout and stderr (each may be NULL to discard). cwd may be NULL.
 * Returns the exit status, SP_TIMEOUT (the child was killed),
 * SP_SPAWN_FAILED or SP_SIGNALED. */
int sp_run(char *const argv[], const char *cwd, double timeout_s, const char *input, vstr *out,
           vstr *err);

/* A long-lived child that answers one line per request line. */
typedef struct sp_proc {
    pid_t pid;
    int to_child, from_child, err_child;
    vstr pending;  /* bytes read beyond the last complete line */
    vstr err_tail; /* the last few KiB of its stderr, for messages */
    bool dead;
} sp_proc;

bool sp_spawn(sp_proc *p, char *const argv[], const char *cwd, verr *e);
/* Sends `line` (a newline is added) and reads one reply line into *reply
 * (reset first). false on timeout (the child is killed) or EOF, with a message. */
bool sp_request(sp_proc *p, const char *line, double timeout_s, vstr *reply, verr *e);
/* Closes its stdin, waits up to grace_s, then kills it. */
void sp_close(sp_proc *p, double grace_s);
/* "exit 3", "signal 9", "timed out", for messages. */
const char *sp_status_str(int status, char *buf, size_t size);

#endif
