"""The "examples:" sections of `bitnet SUBCOMMAND --help` and
`bitnet-validate --help`, checked and run, so the examples cannot rot.

usage: cli_examples.py BIN_DIR SOURCE_DIR WORK_DIR [help|run]

help: every subcommand in `bitnet --help`'s table (and bitnet-validate) exits 0
on --help with an "examples:" section of at least one command line.
run:  every example line runs with bash (what users type into) in a fresh directory of generated
fixtures (model.gguf, hf-model/, ...: the names the examples use) with
BIN_DIR first on PATH, and must exit 0. Substitutions keep the examples
offline: Hugging Face URLs go to a loopback server (tests/pull_server.py)
and port 8080 to a free one; `bitnet serve` examples are started, polled
on /health and stopped with SIGTERM. An example that needs what this
machine lacks is reported "skipped, because ...", never passed.
Exit: 0 all passed, 1 a failure, 77 when nothing could run."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

TIMEOUT = 120  # seconds per example; the slowest (bench, validate) take a few


def help_text(argv):
    p = subprocess.run(argv + ["--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def examples_of(text):
    """The command lines of the help text's "examples:" section: its indented
    lines up to the next blank or unindented line. None when absent."""
    lines = text.splitlines()
    if "examples:" not in lines:
        return None
    out = []
    for line in lines[lines.index("examples:") + 1:]:
        if not line.startswith("  ") or not line.strip():
            break
        out.append(line.strip())
    return out


def subcommands(bitnet):
    rc, out, _ = help_text([bitnet])
    names = []
    section = False
    for line in out.splitlines():
        if line == "commands:":
            section = True
        elif section and line.startswith("  "):
            names.append(line.split()[0])
        elif section:
            break
    if rc != 0 or not names:
        sys.exit("FAIL: `bitnet --help` (exit %d) lists no commands" % rc)
    return names


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_help(bin_dir):
    bitnet = os.path.join(bin_dir, "bitnet")
    tools = [[bitnet, c] for c in subcommands(bitnet)]
    tools.append([os.path.join(bin_dir, "bitnet-validate")])
    failed = 0
    for argv in tools:
        name = " ".join(os.path.basename(a) for a in argv[:1]) + "".join(" " + a for a in argv[1:])
        rc, out, err = help_text(argv)
        ex = examples_of(out)
        if rc != 0 or not ex:
            print("FAIL: %s --help: exit %d, %s" %
                  (name, rc, "no examples: section" if ex is None else "no example lines"))
            failed += 1
        elif err:
            print("FAIL: %s --help wrote to stderr: %r" % (name, err[:200]))
            failed += 1
        else:
            print("ok: %s --help (%d examples)" % (name, len(ex)))
    return failed


def make_fixtures(bin_dir, src, work):
    """The files the examples name, generated (nothing downloaded)."""
    base = os.path.join(work, "files")
    if os.path.isdir(base):
        shutil.rmtree(base)
    os.makedirs(base)
    bitnet = os.path.join(bin_dir, "bitnet")

    def fx(*args):
        subprocess.run([bitnet, "fixture", "-q"] + list(args), cwd=base, check=True,
                       stdin=subprocess.DEVNULL)

    fx("--preset", "small", "--seed", "1", "-o", "model.gguf")
    fx("--preset", "small", "--seed", "1", "--quant", "f32", "-o", "model-f32.gguf")
    fx("--preset", "small", "--seed", "1", "--quant", "tq2_0", "-o", "model-tq2_0.gguf")
    fx("--format", "hf", "--arch", "bitnet-b1.58", "--vocab", "bpe", "-o", "hf-model")
    shutil.copy(os.path.join(base, "hf-model", "tokenizer.json"), base)
    # a tiktoken ranks file: one line "BASE64 RANK" per byte value
    import base64
    with open(os.path.join(base, "tokenizer.model"), "w") as f:
        for b in range(256):
            f.write("%s %d\n" % (base64.b64encode(bytes([b])).decode(), b))
    words = ("the quick brown fox jumps over the lazy dog while ternary weights "
             "keep the model small and the kernels fast ").split()
    with open(os.path.join(base, "text.txt"), "w") as f:
        for i in range(100):
            f.write(" ".join(words[(i + k) % len(words)] for k in range(12)) + ".\n")
    with open(os.path.join(base, "prompt.txt"), "w") as f:
        f.write("Ternary weights are\n")
    with open(os.path.join(base, "serve.yaml"), "w") as f:
        f.write("model: model.gguf\nn_parallel: 2\nport: 8080\n")
    with open(os.path.join(base, "key.txt"), "w") as f:
        f.write("example-key\n")
    shutil.copytree(os.path.join(src, "fixtures"), os.path.join(base, "fixtures"))
    # llama-perplexity's saved log-probabilities exist only as a recorded
    # file of bitnet.cpp's run (../shared): the examples' base.kld
    shared = os.environ.get("BITNET_SHARED_DIR") or os.path.join(src, "..", "shared")
    kld = os.path.join(shared, "fixtures", "bitnet-cpp", "tiny-i2_s")
    if os.path.isfile(kld + ".kld") and os.path.isfile(kld + ".gguf"):
        os.makedirs(os.path.join(base, "kld"))
        shutil.copy(kld + ".kld", os.path.join(base, "kld", "base.kld"))
        shutil.copy(kld + ".gguf", os.path.join(base, "kld", "model.gguf"))
    # the loopback "hub": what `bitnet pull` of Microsoft's repo gets here
    hub = os.path.join(work, "hub")
    if os.path.isdir(hub):
        shutil.rmtree(hub)
    os.makedirs(hub)
    shutil.copy(os.path.join(base, "model.gguf"), os.path.join(hub, "ggml-model-i2_s.gguf"))
    return base, hub


def start_hub(src, work, hub):
    portfile = os.path.join(work, "hub.port")
    if os.path.exists(portfile):
        os.remove(portfile)
    proc = subprocess.Popen([sys.executable, os.path.join(src, "tests", "pull_server.py"), hub,
                             portfile, os.path.join(work, "hub.log")], stdin=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(portfile) and open(portfile).read().strip():
            return proc, int(open(portfile).read())
        time.sleep(0.1)
    proc.kill()
    sys.exit("FAIL: tests/pull_server.py did not start")


def no_reference(bin_dir):
    """Why bitnet-validate's Python reference cannot run here, or None: it
    takes $BITNET_PYTHON, else BUILD/venv (ci/install-deps.sh)."""
    py = os.environ.get("BITNET_PYTHON") or os.path.join(os.path.dirname(bin_dir), "venv", "bin",
                                                         "python")
    try:
        ok = subprocess.run([py, "-c", "import numpy"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            timeout=60).returncode == 0
    except OSError:
        ok = False
    return None if ok else "%s cannot import numpy (run ci/install-deps.sh)" % py


def run_serve(cmd, cwd, env, port):
    """Starts the example, waits for /health, stops it with SIGTERM: exit 0."""
    # exec: SIGTERM then reaches bitnet, not the shell (leading VAR=value
    # assignments are kept: bash exports them to what exec runs)
    proc = subprocess.Popen(["bash", "-c", re.sub(r"^((?:\w+=\S+\s+)*)", r"\1exec ", cmd)], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d/health" % port
    healthy = False
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and not healthy:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                healthy = r.status == 200
        except OSError:
            time.sleep(0.2)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out = proc.communicate(timeout=60)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0].decode(errors="replace")
    if not healthy:
        return False, "never answered %s; exit %s\n%s" % (url, proc.returncode, out[-2000:])
    return proc.returncode == 0, "exit %d after SIGTERM\n%s" % (proc.returncode, out[-2000:])


def run_examples(bin_dir, src, work):
    bitnet = os.path.join(bin_dir, "bitnet")
    tools = [("bitnet " + c, [bitnet, c]) for c in subcommands(bitnet)]
    tools.append(("bitnet-validate", [os.path.join(bin_dir, "bitnet-validate")]))
    base, hub = make_fixtures(bin_dir, src, work)
    hub_proc, hub_port = start_hub(src, work, hub)
    env = dict(os.environ)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.pop("HF_TOKEN", None)
    env.pop("HF_ENDPOINT", None)
    passed = failed = skipped = 0
    try:
        for name, argv in tools:
            for k, example in enumerate(examples_of(help_text(argv)[1]) or []):
                cwd = os.path.join(work, "run", "%s-%d" % (name.replace(" ", "-"), k))
                if os.path.isdir(cwd):
                    shutil.rmtree(cwd)
                shutil.copytree(base, cwd, symlinks=True)
                cmd = example.replace("https://huggingface.co",
                                      "http://127.0.0.1:%d/hub" % hub_port)
                run_env = dict(env, HOME=cwd)
                if "bitnet pull" in cmd:
                    run_env["HF_ENDPOINT"] = "http://127.0.0.1:%d/hub" % hub_port
                if "base.kld" in cmd:
                    if not os.path.isdir(os.path.join(cwd, "kld")):
                        print("skipped, because ../shared has no fixtures/bitnet-cpp/tiny-i2_s"
                              ".kld (llama-perplexity's output): %s" % example)
                        skipped += 1
                        continue
                    cwd = os.path.join(cwd, "kld")
                if cmd.startswith("bitnet-validate") and "--no-python" not in cmd:
                    why = no_reference(bin_dir)
                    if why:
                        print("skipped, because %s: %s" % (why, example))
                        skipped += 1
                        continue
                t0 = time.time()
                if re.search(r"\bbitnet serve\b", cmd) and "--print-config" not in cmd:
                    port = free_port()
                    if "8080" not in cmd and "serve.yaml" not in cmd:
                        ok, detail = False, "has no port 8080 to replace with a free one"
                    else:
                        cmd = cmd.replace("8080", str(port))
                        with open(os.path.join(cwd, "serve.yaml"), "w") as f:
                            f.write("model: model.gguf\nn_parallel: 2\nport: %d\n" % port)
                        ok, detail = run_serve(cmd, cwd, run_env, port)
                else:
                    try:
                        p = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=run_env,
                                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, timeout=TIMEOUT)
                        ok = p.returncode == 0
                        detail = "exit %d\n%s" % (p.returncode,
                                                  p.stdout.decode(errors="replace")[-2000:])
                    except subprocess.TimeoutExpired:
                        ok, detail = False, "ran past %d s" % TIMEOUT
                if ok:
                    print("ok (%.1f s): %s" % (time.time() - t0, example))
                    passed += 1
                else:
                    print("FAIL: %s\n  %s" % (example, detail.replace("\n", "\n  ")))
                    failed += 1
    finally:
        hub_proc.kill()
        hub_proc.wait()
    print("%d examples passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        return 1
    return 0 if passed else 77


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in ("help", "run"):
        sys.exit(__doc__)
    bin_dir, src, work, what = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    if what == "help":
        sys.exit(1 if check_help(bin_dir) else 0)
    sys.exit(run_examples(bin_dir, os.path.abspath(src), os.path.abspath(work)))


if __name__ == "__main__":
    main()
