"""Fixtures for the bitnet serve tests: fixture models made with `bitnet
fixture`, and servers started on a free loopback port (--port 0, the port is
read from the log). Every server is stopped with SIGTERM at the end of its
test, which must exit 0 and leave no sanitizer report in its log."""
import os
import re
import signal
import subprocess
import time

import pytest

from serve_util import ServerProcess, build_dir, bitnet_bin

# the machine is shared: keep the suite to loopback and one thread per server


@pytest.fixture(scope="session")
def workdir():
    d = os.path.join(build_dir(), "tmp", "serve-tests")
    os.makedirs(d, exist_ok=True)
    return d


def make_fixture(workdir, name, args):
    path = os.path.join(workdir, name + ".gguf")
    if not os.path.exists(path):
        subprocess.run([bitnet_bin(), "fixture", "-q", "-o", path, *args], check=True,
                       stdin=subprocess.DEVNULL)
    return path


@pytest.fixture(scope="session")
def tiny_model(workdir):
    """128 embd, 2 layers, vocab 512, ctx 256; greedy follows a fixed cycle."""
    return make_fixture(workdir, "tiny-peaked", ["--kind", "peaked", "--ctx", "2048"])


@pytest.fixture(scope="session")
def small_model(workdir):
    """256 embd, 4 layers, vocab 4096: slow enough under --isa ref to catch a
    request in its prefill or its stream."""
    return make_fixture(workdir, "small-random", ["--preset", "small", "--ctx", "4096"])


@pytest.fixture
def start_server(workdir, request):
    servers = []

    def start(model, *args, wait_ready=True, env=None):
        s = ServerProcess(workdir, request.node.name, model, list(args), env=env)
        servers.append(s)
        s.start(wait_ready=wait_ready)
        return s

    yield start
    for s in servers:
        s.stop_and_check()
