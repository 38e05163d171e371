"""The long operations show progress on stderr only when stderr is a terminal:
convert, quantize and pull each run twice, once with stderr on a pseudo-
terminal (a "\\r"-rewritten line with a percentage must appear) and once on a
pipe (no "\\r" and no percentage: logs stay clean), and must succeed both ways.

usage: cli_progress.py BIN_DIR SOURCE_DIR WORK_DIR   (exit 0, 1 on a failure)"""
import os
import pty
import re
import shutil
import subprocess
import sys
import time

PROGRESS = re.compile(r"\r[^\n]*\d+%")


def run_pty(argv, cwd):
    """argv with stdin/stdout on /dev/null and stderr on a pty: (exit, stderr)."""
    master, slave = pty.openpty()
    with open(os.devnull, "r+b") as null:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=null, stdout=null, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=120), out.decode(errors="replace")


def run_pipe(argv, cwd):
    p = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stderr.decode(errors="replace")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    bin_dir, src, work = sys.argv[1:4]
    bitnet = os.path.join(bin_dir, "bitnet")
    if os.path.isdir(work):
        shutil.rmtree(work)
    os.makedirs(work)
    subprocess.run([bitnet, "fixture", "-q", "--preset", "small", "--quant", "f32", "-o",
                    "model-f32.gguf"], cwd=work, check=True)
    cases = [
        ("convert", [bitnet, "convert", "model-f32.gguf", "-o", "OUT", "--type", "i2_s"]),
        ("quantize", [bitnet, "quantize", "model-f32.gguf", "OUT", "tq2_0"]),
    ]
    commands = subprocess.run([bitnet, "--help"], stdout=subprocess.PIPE, text=True).stdout
    server = None
    if re.search(r"^  pull ", commands, re.M):
        hub = os.path.join(work, "hub")
        os.makedirs(hub)
        shutil.copy(os.path.join(work, "model-f32.gguf"), hub)
        portfile = os.path.join(work, "port")
        server = subprocess.Popen([sys.executable, os.path.join(src, "tests", "pull_server.py"),
                                   hub, portfile, os.path.join(work, "log")])
        for _ in range(100):
            if os.path.exists(portfile) and open(portfile).read().strip():
                break
            time.sleep(0.1)
        url = "http://127.0.0.1:%s/files/model-f32.gguf" % open(portfile).read().strip()
        cases.append(("pull", [bitnet, "pull", url, "-o", "OUT"]))
    else:
        print("skipped pull, because this build has no bitnet pull (libcurl missing)")
    failed = 0
    try:
        for name, argv in cases:
            for how, runner in (("terminal", run_pty), ("pipe", run_pipe)):
                out = "%s-%s.gguf" % (name, how)
                rc, err = runner([out if a == "OUT" else a for a in argv], work)
                shown = bool(PROGRESS.search(err))
                want = how == "terminal"
                if rc != 0 or shown != want or (not want and "\r" in err):
                    print("FAIL: %s with stderr on a %s: exit %d, progress %s (want %s)\n  %r" %
                          (name, how, rc, "shown" if shown else "absent",
                           "shown" if want else "absent", err[-400:]))
                    failed += 1
                else:
                    print("ok: %s, stderr on a %s: progress %s" %
                          (name, how, "shown" if shown else "absent"))
    finally:
        if server:
            server.kill()
            server.wait()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
