#include "subproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void set_cloexec(int fd) { fcntl(fd, F_SETFD, FD_CLOEXEC); }

/* fork + exec with three pipes; in_fd / out_fd / err_fd receive our ends.
 * A failed exec exits 127 in the child, which callers report. */
static pid_t spawn3(char *const argv[], const char *cwd, int *in_fd, int *out_fd, int *err_fd) {
    int pin[2], pout[2], perr[2];
    if (pipe(pin) != 0) return -1;
    if (pipe(pout) != 0) {
        close(pin[0]);
        close(pin[1]);
        return -1;
    }
    if (pipe(perr) != 0) {
        close(pin[0]);
        close(pin[1]);
        close(pout[0]);
        close(pout[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[0]);
        close(pin[1]);
        close(pout[0]);
        close(pout[1]);
        close(perr[0]);
        close(perr[1]);
        if (cwd && chdir(cwd) != 0) _exit(127);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    if (pid < 0) {
        close(pin[1]);
        close(pout[0]);
        close(perr[0]);
        return -1;
    }
    set_cloexec(pin[1]);
    set_cloexec(pout[0]);
    set_cloexec(perr[0]);
    *in_fd = pin[1];
    *out_fd = pout[0];
    *err_fd = perr[0];
    return pid;
}

static void kill_and_reap(pid_t pid) {
    kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
}

int sp_run(char *const argv[], const char *cwd, double timeout_s, const char *input, vstr *out,
           vstr *err) {
    signal(SIGPIPE, SIG_IGN); /* a child that exits early must not kill us */
    int in_fd, out_fd, err_fd;
    pid_t pid = spawn3(argv, cwd, &in_fd, &out_fd, &err_fd);
    if (pid < 0) return SP_SPAWN_FAILED;
    size_t in_left = input ? strlen(input) : 0;
    const char *in_p = input;
    if (!in_left) {
        close(in_fd);
        in_fd = -1;
    }
    double deadline = vu_now_s() + timeout_s;
    char buf[65536];
    while (out_fd >= 0 || err_fd >= 0) {
        struct pollfd fds[3];
        int n = 0, io = -1, ie = -1, ii = -1;
        if (out_fd >= 0) fds[io = n++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
        if (err_fd >= 0) fds[ie = n++] = (struct pollfd){.fd = err_fd, .events = POLLIN};
        if (in_fd >= 0) fds[ii = n++] = (struct pollfd){.fd = in_fd, .events = POLLOUT};
        double left = deadline - vu_now_s();
        if (left <= 0) {
            kill_and_reap(pid);
            if (in_fd >= 0) close(in_fd);
            if (out_fd >= 0) close(out_fd);
            if (err_fd >= 0) close(err_fd);
            return SP_TIMEOUT;
        }
        int r = poll(fds, (nfds_t)n, (int)(left * 1000) + 1);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        if (io >= 0 && fds[io].revents) {
            ssize_t got = read(out_fd, buf, sizeof buf);
            if (got > 0) {
                if (out) vs_append(out, buf, (size_t)got);
            } else {
                close(out_fd);
                out_fd = -1;
            }
        }
        if (ie >= 0 && fds[ie].revents) {
            ssize_t got = read(err_fd, buf, sizeof buf);
            if (got > 0) {
                if (err) vs_append(err, buf, (size_t)got);
            } else {
                close(err_fd);
                err_fd = -1;
            }
        }
        if (ii >= 0 && fds[ii].revents) {
            ssize_t w = write(in_fd, in_p, in_left);
            if (w > 0) {
                in_p += w;
                in_left -= (size_t)w;
            }
            if (w <= 0 || in_left == 0) {
                close(in_fd);
                in_fd = -1;
            }
        }
    }
    if (in_fd >= 0) close(in_fd);
    /* output closed: the child is exiting; still bound the wait */
    while (vu_now_s() < deadline) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : SP_SIGNALED;
        usleep(2000);
    }
    kill_and_reap(pid);
    return SP_TIMEOUT;
}

bool sp_spawn(sp_proc *p, char *const argv[], const char *cwd, verr *e) {
    signal(SIGPIPE, SIG_IGN);
    memset(p, 0, sizeof *p);
    p->pid = spawn3(argv, cwd, &p->to_child, &p->from_child, &p->err_child);
    if (p->pid < 0) {
        verr_set(e, "cannot start %s: %s", argv[0], strerror(errno));
        p->dead = true;
        return false;
    }
    fcntl(p->err_child, F_SETFL, fcntl(p->err_child, F_GETFL) | O_NONBLOCK);
    return true;
}

/* Keeps the last 4 KiB of the child's stderr so a crash can be explained. */
static void drain_stderr(sp_proc *p) {
    char buf[4096];
    ssize_t got;
    while ((got = read(p->err_child, buf, sizeof buf)) > 0) {
        vs_append(&p->err_tail, buf, (size_t)got);
        if (p->err_tail.len > 8192) {
            size_t keep = 4096;
            memmove(p->err_tail.s, p->err_tail.s + p->err_tail.len - keep, keep);
            p->err_tail.len = keep;
            p->err_tail.s[keep] = '\0';
        }
    }
}

static const char *err_tail_last_line(sp_proc *p) {
    drain_stderr(p);
    if (!p->err_tail.s) return "";
    char *end = p->err_tail.s + p->err_tail.len;
    while (end > p->err_tail.s && (end[-1] == '\n' || end[-1] == '\r')) *--end = '\0';
    char *nl = strrchr(p->err_tail.s, '\n');
    return nl ? nl + 1 : p->err_tail.s;
}

bool sp_request(sp_proc *p, const char *line, double timeout_s, vstr *reply, verr *e) {
    if (p->dead) {
        verr_set(e, "the process has already failed");
        return false;
    }
    reply->len = 0;
    if (reply->s) reply->s[0] = '\0';
    size_t n = strlen(line);
    const char *q = line;
    while (n) {
        ssize_t w = write(p->to_child, q, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            verr_set(e, "the process closed its input (%s)", err_tail_last_line(p));
            p->dead = true;
            return false;
        }
        q += w;
        n -= (size_t)w;
    }
    if (write(p->to_child, "\n", 1) != 1) {
        verr_set(e, "the process closed its input (%s)", err_tail_last_line(p));
        p->dead = true;
        return false;
    }
    double deadline = vu_now_s() + timeout_s;
    for (;;) {
        char *nl = p->pending.s ? memchr(p->pending.s, '\n', p->pending.len) : NULL;
        if (nl) {
            size_t take = (size_t)(nl - p->pending.s);
            vs_append(reply, p->pending.s, take);
            memmove(p->pending.s, nl + 1, p->pending.len - take - 1);
            p->pending.len -= take + 1;
            p->pending.s[p->pending.len] = '\0';
            return true;
        }
        double left = deadline - vu_now_s();
        if (left <= 0) {
            verr_set(e, "no answer within %.0f s (killed)", timeout_s);
            kill_and_reap(p->pid);
            p->dead = true;
            return false;
        }
        struct pollfd fds[2] = {{.fd = p->from_child, .events = POLLIN},
                                {.fd = p->err_child, .events = POLLIN}};
        int r = poll(fds, 2, (int)(left * 1000) + 1);
        if (r < 0 && errno != EINTR) {
            verr_set(e, "poll: %s", strerror(errno));
            return false;
        }
        if (fds[1].revents) drain_stderr(p);
        if (fds[0].revents) {
            char buf[65536];
            ssize_t got = read(p->from_child, buf, sizeof buf);
            if (got <= 0) {
                int st = 0;
                waitpid(p->pid, &st, 0);
                p->dead = true;
                char sb[64];
                verr_set(
                    e, "the process ended (%s): %s",
                    sp_status_str(WIFEXITED(st) ? WEXITSTATUS(st) : SP_SIGNALED, sb, sizeof sb),
                    err_tail_last_line(p));
                return false;
            }
            vs_append(&p->pending, buf, (size_t)got);
        }
    }
}

void sp_close(sp_proc *p, double grace_s) {
    if (p->to_child > 0) close(p->to_child);
    if (!p->dead && p->pid > 0) {
        double deadline = vu_now_s() + grace_s;
        int st;
        pid_t w = 0;
        while ((w = waitpid(p->pid, &st, WNOHANG)) == 0 && vu_now_s() < deadline) usleep(5000);
        if (w == 0) kill_and_reap(p->pid);
    }
    if (p->from_child > 0) close(p->from_child);
    if (p->err_child > 0) close(p->err_child);
    vs_free(&p->pending);
    vs_free(&p->err_tail);
    p->to_child = p->from_child = p->err_child = -1;
    p->dead = true;
}

const char *sp_status_str(int status, char *buf, size_t size) {
    if (status == SP_TIMEOUT)
        snprintf(buf, size, "timed out");
    else if (status == SP_SPAWN_FAILED)
        snprintf(buf, size, "could not start");
    else if (status == SP_SIGNALED)
        snprintf(buf, size, "killed by a signal");
    else
        snprintf(buf, size, "exit %d", status);
    return buf;
}
