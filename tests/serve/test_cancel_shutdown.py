"""H9 (queue bound), H10 (disconnects while queued, prefilling, streaming)
and H14 (SIGTERM under load). The small fixture under --isa ref (SLOW_ISA) runs
at about 85 tokens/s on one thread, slow enough to catch a request mid-way."""
import json
import re
import signal
import socket
import threading
import time

import pytest

from serve_util import SLOW_ISA, post_json, raw, request, sse_events

LONG = {"prompt": "hello", "max_tokens": 1000, "temperature": 0, "ignore_eos": True}


def open_request(port, path, obj):
    """Sends a request and returns the socket without reading the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    body = json.dumps(obj).encode()
    s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    return s


def read_until(s, marker, limit=10.0):
    buf, t0 = b"", time.time()
    while marker not in buf:
        assert time.time() - t0 < limit, buf[-500:]
        chunk = s.recv(65536)
        assert chunk, buf[-500:]
        buf += chunk
    return buf


def cancelled_lines(server):
    return re.findall(r"req (\d+) POST \S+ (\d+) .* completion=(\d+) finish=cancelled",
                      server.log_text())


def wait_for(pred, limit, what):
    t0 = time.time()
    while not pred():
        assert time.time() - t0 < limit, what
        time.sleep(0.02)
    return time.time() - t0


@pytest.fixture
def slow(start_server, small_model):
    return start_server(small_model, "--isa", SLOW_ISA, "-np", "1", "--queue-size", "1",
                        "-c", "4096", "-n", "2000")


def quick(server, limit):
    """A short request completes within `limit` seconds (the slot is free)."""
    t0 = time.time()
    while True:
        st, _, out = post_json(server.port, "/v1/completions",
                               {"prompt": "hi", "max_tokens": 3, "temperature": 0})
        if st != 503 or time.time() - t0 > limit:
            break
        time.sleep(0.05)  # the cancelled requests leave at the next step
    assert st == 200, out
    assert time.time() - t0 < limit, time.time() - t0


def test_h9_queue_full_answers_503(slow):
    a = open_request(slow.port, "/v1/completions", dict(LONG, stream=True))
    read_until(a, b"data: ")  # A holds the only slot
    b = open_request(slow.port, "/v1/completions", LONG)  # B waits in the queue
    time.sleep(0.3)
    st, hdr, out = post_json(slow.port, "/v1/completions", LONG)
    assert st == 503 and hdr.get("Retry-After") == "1"
    assert json.loads(out)["error"]["type"] == "unavailable_error"
    b.close()
    a.close()
    quick(slow, 5)


def test_h10_disconnect_while_streaming(slow):
    a = open_request(slow.port, "/v1/completions", dict(LONG, stream=True))
    buf = read_until(a, b"data: ")
    while buf.count(b"data: ") < 5:
        buf += a.recv(65536)
    a.close()
    # the slot is free at once: 1000 tokens would take ~12 s
    quick(slow, 5)
    wait_for(lambda: cancelled_lines(slow), 3, "no cancelled request in the log")
    (_, status, completion), = cancelled_lines(slow)
    assert 0 < int(completion) < 400


def test_h10_disconnect_while_prefilling(slow):
    # ~2000 prompt tokens in steps of 64: ~20 s of prefill at --isa ref, ~3-5 s
    # with the AVX2 kernels under ThreadSanitizer (ci/tsan.sh)
    a = open_request(slow.port, "/v1/completions", dict(LONG, prompt="word " * 1000))
    time.sleep(1.0)
    a.close()
    quick(slow, 6)
    (_, _, completion), = cancelled_lines(slow)
    assert completion == "0"


def test_h10_disconnect_while_queued(slow):
    a = open_request(slow.port, "/v1/completions", dict(LONG, stream=True))
    read_until(a, b"data: ")
    b = open_request(slow.port, "/v1/completions", LONG)
    time.sleep(0.3)
    b.close()
    # B leaves the queue while A still runs
    wait_for(lambda: cancelled_lines(slow), 2, "the queued request was not cancelled")
    (_, _, completion), = cancelled_lines(slow)
    assert completion == "0"
    assert b"[DONE]" not in a.recv(65536)  # A is still streaming
    a.close()
    quick(slow, 6)


def test_h10_disconnect_non_streaming(slow):
    a = open_request(slow.port, "/v1/completions", LONG)
    time.sleep(1.0)
    a.close()
    quick(slow, 5)
    (_, _, completion), = cancelled_lines(slow)
    assert 0 < int(completion) < 400


def stream_collect(port, results, i, body):
    try:
        results[i] = sse_events(port, "/v1/completions", body)
    except Exception as e:  # noqa: BLE001 - checked by the test
        results[i] = e


def test_h14_sigterm_drains(start_server, small_model):
    s = start_server(small_model, "--isa", SLOW_ISA, "-np", "2", "--queue-size", "4",
                     "--drain-timeout", "30")
    body = {"prompt": "hello", "max_tokens": 60, "temperature": 0, "ignore_eos": True,
            "stream": True}
    results = [None] * 3
    threads = [threading.Thread(target=stream_collect, args=(s.port, results, i, body))
               for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    t0 = time.time()
    s.signal(signal.SIGTERM)
    time.sleep(0.3)
    # no longer accepting
    with pytest.raises(OSError):
        request(s.port, "GET", "/health", timeout=2)
    for t in threads:
        t.join()
    assert s.wait(timeout=40) == 0
    # every request that was in (two running, one queued) finished in full
    for ev in results:
        assert isinstance(ev, list), ev
        assert ev[-1] == "[DONE]"
        assert ev[-2]["choices"][0]["finish_reason"] == "length"
        assert len([e for e in ev[:-2] if e["choices"][0]["text"]]) >= 1
    assert time.time() - t0 < 30


def test_h14_drain_deadline_cancels(start_server, small_model):
    s = start_server(small_model, "--isa", SLOW_ISA, "-np", "2", "--drain-timeout", "1")
    body = dict(LONG, stream=True)
    results = [None] * 2
    threads = [threading.Thread(target=stream_collect, args=(s.port, results, i, body))
               for i in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    t0 = time.time()
    s.signal(signal.SIGTERM)
    assert s.wait(timeout=20) == 0
    assert time.time() - t0 < 5
    for t in threads:
        t.join()
    for ev in results:
        # the stream ends with an error event, then [DONE]
        assert isinstance(ev, list), ev
        assert ev[-1] == "[DONE]" and "error" in ev[-2], ev[-3:]
    assert "drain deadline" in s.log_text()


def test_h14_second_signal_exits_at_once(start_server, small_model):
    s = start_server(small_model, "--isa", SLOW_ISA, "--drain-timeout", "60")
    a = open_request(s.port, "/v1/completions", dict(LONG, stream=True))
    read_until(a, b"data: ")
    s.signal(signal.SIGTERM)
    time.sleep(0.3)
    t0 = time.time()
    s.signal(signal.SIGINT)
    assert s.wait(timeout=10) == 1
    assert time.time() - t0 < 2
    a.close()
    s.proc = None  # already checked
