"""Helpers shared by the serve tests and bench/serve_load.py: a server
process on a free loopback port, raw HTTP over a socket, JSON requests, SSE
streams."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer", "ThreadSanitizer")


# The kernels of the servers that must be slow enough to catch a request
# mid-way (test_cancel_shutdown.py): their timings assume the small fixture at
# about 85 tokens/s on one thread, which --isa ref gives in a normal build.
# Under ThreadSanitizer ref is ~25x slower and the vector kernels give that
# pace instead, so ci/tsan.sh sets BITNET_TEST_SLOW_ISA=avx2 (not the best
# ISA: AMX prefills 2000 tokens in under a second even there, and the
# disconnect-while-prefilling test needs the prefill to last).
SLOW_ISA = os.environ.get("BITNET_TEST_SLOW_ISA", "ref")


def build_dir():
    return os.environ.get("BITNET_BUILD_DIR") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build")


def bitnet_bin():
    return os.environ.get("BITNET_BIN") or os.path.join(build_dir(), "bin", "bitnet")


class ServerProcess:
    counter = 0

    def __init__(self, workdir, name, model, args, env=None):
        ServerProcess.counter += 1
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80]
        self.log_path = os.path.join(workdir, "%s-%d.log" % (safe, ServerProcess.counter))
        self.cmd = [bitnet_bin(), "serve", "-m", model, "--port", "0", "-t", "1", *args]
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.proc = None
        self.port = None
        self.stopped_rc = None

    def start(self, wait_ready=True, timeout=60):
        self.log = open(self.log_path, "w+b")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env)
        t0 = time.time()
        while self.port is None:
            m = re.search(r"listening on http://[^:]+:(\d+)", self.log_text())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise RuntimeError("server exited %d:\n%s" % (self.proc.returncode, self.log_text()))
            if time.time() - t0 > timeout:
                raise RuntimeError("server did not listen:\n" + self.log_text())
            time.sleep(0.02)
        if wait_ready:
            while True:
                try:
                    st, _, _ = request(self.port, "GET", "/health")
                    if st == 200:
                        break
                except OSError:
                    pass
                if time.time() - t0 > timeout:
                    raise RuntimeError("server not ready:\n" + self.log_text())
                time.sleep(0.02)
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=60):
        self.stopped_rc = self.proc.wait(timeout=timeout)
        return self.stopped_rc

    def stop_and_check(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop on SIGTERM:\n" + self.log_text())
            assert self.stopped_rc == 0, "exit %d:\n%s" % (self.stopped_rc, self.log_text())
        self.log.close()
        text = self.log_text()
        for mark in SANITIZER_MARKS:
            assert mark not in text, "sanitizer report in the server log:\n" + text

    def assert_serving(self):
        """The server still answers a small completion correctly."""
        st, _, body = post_json(self.port, "/v1/completions",
                                {"prompt": "hello", "max_tokens": 2, "temperature": 0})
        assert st == 200, body
        assert json.loads(body)["usage"]["completion_tokens"] >= 1


def request(port, method, path, body=None, headers=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, dict(r.getheaders()), data
    finally:
        conn.close()


def post_json(port, path, obj, headers=None, timeout=120):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    body = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
    return request(port, "POST", path, body=body, headers=h, timeout=timeout)


def raw(port, data, timeout=10, read=True):
    """Sends raw bytes; returns (status or None, everything read until close)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return None, b""
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        m = re.match(rb"HTTP/1\.[01] (\d{3})", out)
        return (int(m.group(1)) if m else None), out
    finally:
        s.close()


def sse_events(port, path, obj, on_event=None, timeout=120, host="127.0.0.1"):
    """Streams a request; returns the list of decoded data payloads ('[DONE]'
    stays a string). on_event(i, payload) may return False to stop reading
    (the connection is then closed)."""
    s = socket.create_connection((host, port), timeout=timeout)
    body = json.dumps(obj).encode()
    s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    f = s.makefile("rb")
    status = f.readline()
    assert b" 200 " in status, status + f.read(2000)
    chunked = False
    while True:
        line = f.readline()
        if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
            chunked = True
        if line in (b"\r\n", b""):
            break
    events, buf = [], b""

    def chunks():
        while True:
            if chunked:
                size_line = f.readline()
                if not size_line:
                    return
                n = int(size_line.strip().split(b";")[0], 16)
                if n == 0:
                    return
                data = f.read(n)
                f.readline()
                yield data
            else:
                data = f.read1(65536)
                if not data:
                    return
                yield data

    try:
        for data in chunks():
            buf += data
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                assert ev.startswith(b"data: "), ev
                payload = ev[6:].decode()
                payload = payload if payload == "[DONE]" else json.loads(payload)
                events.append(payload)
                if on_event and on_event(len(events) - 1, payload) is False:
                    return events
        return events
    finally:
        f.close()
        s.close()
