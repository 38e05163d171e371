"""The HTTP bad-input catalogue (H1-H14 in the research notes): each row gets
its answer, and the server keeps serving afterwards."""
import json
import socket
import time

import pytest

from serve_util import post_json, raw, request

COMPLETION = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


@pytest.fixture
def server(start_server, tiny_model):
    return start_server(tiny_model, "--timeout", "2", "-n", "64", "--max-body-bytes", "65536")


def error_of(body):
    e = json.loads(body)["error"]
    assert set(e) >= {"code", "message", "type", "param"}
    return e


# H1: malformed request line, unknown method, HTTP/0.9 and unknown versions
@pytest.mark.parametrize("data,want", [
    (b"GARBAGE\r\n\r\n", None),  # libmicrohttpd closes without an answer
    (b"BREW /health HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"DELETE /v1/completions HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"GET /health\r\n\r\n", 400),
    (b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
])
def test_h1_bad_request_line(server, data, want):
    st, out = raw(server.port, data)
    assert st == want, out[:300]
    server.assert_serving()


# H2: headers and URI over 8 KiB
def test_h2_big_headers_and_uri(server):
    for size in (9000, 40000):
        st, _ = raw(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * size + b"\r\n\r\n")
        assert st == 431
        st, _ = raw(server.port, b"GET /" + b"a" * size + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert st == 414
    # 4 KiB of headers is fine
    st, _ = raw(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-A: "
                + b"a" * 4000 + b"\r\n\r\n")
    assert st == 200
    server.assert_serving()


# H3: bodies over --max-body
def test_h3_body_over_limit(server):
    # refused on the Content-Length alone: nothing of the body is sent
    t0 = time.time()
    st, out = raw(server.port, COMPLETION + b"Content-Length: 99999999\r\n\r\n")
    assert st == 413 and time.time() - t0 < 1.5
    assert "limit is 65536" in error_of(out.split(b"\r\n\r\n", 1)[1])["message"]
    # chunked: the connection is closed once the body passes the limit
    st, out = raw(server.port, COMPLETION + b"Transfer-Encoding: chunked\r\n\r\n"
                  + (b"10000\r\n" + b"a" * 65536 + b"\r\n") * 4 + b"0\r\n\r\n")
    assert st is None
    # a body just under the limit is parsed (and refused as bad JSON)
    st, _, body = post_json(server.port, "/v1/completions", b"x" * 60000)
    assert st == 400 and "not valid JSON" in error_of(body)["message"]
    server.assert_serving()


# H4: bad framing
@pytest.mark.parametrize("extra", [
    b"Content-Length: abc\r\n\r\n{}",
    b"Content-Length: -5\r\n\r\n{}",
    b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
])
def test_h4_bad_framing(server, extra):
    st, out = raw(server.port, COMPLETION + extra)
    assert st == 400, out[:300]
    server.assert_serving()


# H5: slowloris and idle keep-alive
def test_h5_slowloris_is_cut_off(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    t0 = time.time()
    closed_at = None
    line = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    for i, b in enumerate(line):
        try:
            s.send(bytes([b]))
        except OSError:
            closed_at = time.time() - t0
            break
        if i == 5:
            server.assert_serving()  # the slow client holds nobody else up
        time.sleep(0.05)
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed_at = time.time() - t0
                break
        except BlockingIOError:
            pass
        except OSError:
            closed_at = time.time() - t0
            break
        finally:
            s.setblocking(True)
    s.close()
    # --timeout 2: cut off after 2 s although a byte arrives every 50 ms
    assert closed_at is not None and 1.5 < closed_at < 4.5, closed_at
    # an idle keep-alive connection is closed too
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    t0 = time.time()
    assert s.recv(1) == b""
    assert time.time() - t0 < 4.5
    s.close()
    server.assert_serving()


# H6: bad JSON, content type, field types
@pytest.mark.parametrize("body,param,fragment", [
    (b"{", None, "not valid JSON"),
    (b"[1, 2]", None, "must be a JSON object"),
    (b'{"prompt": "a", "prompt": "b"}', None, "not valid JSON"),
    (b'{"prompt": "a\\u0000b"}', None, "not valid JSON"),
    (b'{"prompt": "\xff"}', None, "not valid JSON"),
    (b'{"prompt": 5}', "prompt", "must be a string or an array"),
    (b'{"prompt": "a", "temperature": "hot"}', "temperature", "finite number"),
    (b'{"prompt": "a", "max_tokens": 2.5}', "max_tokens", "integer"),
    (b'{"prompt": "a", "stream": 1}', "stream", "true or false"),
    (b'{"prompt": "a", "stop": [1]}', "stop", "not a string"),
    (b'{"prompt": "a", "stop": [""]}', "stop", "empty"),
    (b'{"prompt": "a", "n": 2}', "n", "one choice"),
    (b'{"prompt": "a", "echo": true}', "echo", "not supported"),
    (b'{"prompt": "a", "stream_options": 3}', "stream_options", "object"),
    (b'{"prompt": ["a", "b"]}', "prompt", "one prompt per request"),
    (b'{"prompt": []}', "prompt", "empty"),
])
def test_h6_bad_completion_bodies(server, body, param, fragment):
    st, _, out = post_json(server.port, "/v1/completions", body)
    assert st == 400
    e = error_of(out)
    assert e["type"] == "invalid_request_error" and e["param"] == param, e
    assert fragment in e["message"], e


@pytest.mark.parametrize("body,param", [
    ({}, "messages"),
    ({"messages": []}, "messages"),
    ({"messages": "hi"}, "messages"),
    ({"messages": [5]}, "messages[0]"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}, "top_logprobs"),
])
def test_h6_bad_chat_bodies(server, body, param):
    st, _, out = post_json(server.port, "/v1/chat/completions", body)
    assert st == 400
    assert error_of(out)["param"] == param


@pytest.mark.parametrize("path,body,param", [
    ("/tokenize", b"{", None),
    ("/tokenize", b'["content"]', None),
    ("/tokenize", b"{}", "content"),
    ("/tokenize", b'{"content": 5}', "content"),
    ("/tokenize", b'{"content": "a", "add_special": "yes"}', "add_special"),
    ("/tokenize", b'{"content": "a", "with_pieces": 1}', "with_pieces"),
    ("/detokenize", b'{"content": "a"}', "tokens"),
    ("/detokenize", b'{"tokens": "abc"}', "tokens"),
    ("/detokenize", b'{"tokens": [1, 512]}', "tokens"),
    ("/detokenize", b'{"tokens": [[1]]}', "tokens"),
    ("/detokenize", b'{"tokens": [1.5]}', "tokens"),
])
def test_h6_bad_tokenize_bodies(server, path, body, param):
    st, _, out = post_json(server.port, path, body)
    assert st == 400, out
    e = error_of(out)
    assert e["type"] == "invalid_request_error" and e["param"] == param, e
    server.assert_serving()


def test_h6_content_type_and_routes(server):
    st, _, out = request(server.port, "POST", "/v1/completions", body=b'{"prompt": "a"}',
                         headers={"Content-Type": "text/plain"})
    assert st == 415 and error_of(out)["code"] == 415
    st, _, out = request(server.port, "GET", "/v1/nothing")
    assert st == 404
    st, hdr, out = request(server.port, "GET", "/v1/completions")
    assert st == 405 and hdr.get("Allow") == "POST"
    server.assert_serving()


# H7: values out of range
@pytest.mark.parametrize("extra,param", [
    ({"max_tokens": 10 ** 9}, "max_tokens"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": -1}, "max_tokens"),
    ({"n_predict": -2}, "n_predict"),
    ({"n_predict": 0}, "n_predict"),  # found by fuzz_serve_request: it generated one token
    ({"n_probs": 10 ** 9}, "n_probs"),
    ({"logprobs": 21}, "logprobs"),
    ({"temperature": -1}, "temperature"),
    ({"temperature": 1e400}, None),  # JSON has no infinity: refused as bad JSON or range
    ({"top_p": 0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"min_p": -0.1}, "min_p"),
    ({"top_k": -1}, "top_k"),
    ({"top_k": 10 ** 7}, "top_k"),
    ({"repeat_penalty": 0}, "repeat_penalty"),
    ({"presence_penalty": 3}, "presence_penalty"),
    ({"frequency_penalty": -2.5}, "frequency_penalty"),
    ({"seed": 2 ** 64}, "seed"),
    ({"seed": -1}, "seed"),
    ({"stop": ["s"] * 17}, "stop"),
    ({"stop": "x" * 300}, "stop"),
    ({"prompt": [0, 1, 512]}, "prompt"),
    ({"prompt": [-1]}, "prompt"),
    ({"prompt": "word " * 3000}, "prompt"),
])
def test_h7_out_of_range(server, extra, param):
    body = {"prompt": "hello"}
    body.update(extra)
    text = json.dumps(body).replace("Infinity", "1e400")
    st, _, out = post_json(server.port, "/v1/completions", text)
    assert st == 400, out
    e = error_of(out)
    if param:
        assert e["param"] == param, e
    server.assert_serving() if param == "prompt" else None


# H7: NaN and Infinity are not JSON (Python's json module writes them anyway)
@pytest.mark.parametrize("value", [b"NaN", b"-Infinity", b"Infinity"])
def test_h7_nan_temperature(server, value):
    st, _, out = post_json(server.port, "/v1/completions",
                           b'{"prompt": "a", "temperature": ' + value + b"}")
    assert st == 400 and "not valid JSON" in error_of(out)["message"], out
    server.assert_serving()


# H7: n_discard (llama-server's context shift) is no field here: this server
# does not shift the context, so it is ignored like any unknown field
def test_h7_n_discard_is_ignored(server):
    st, _, out = post_json(server.port, "/v1/completions",
                           {"prompt": "hello", "max_tokens": 2, "n_discard": -1})
    assert st == 200 and json.loads(out)["usage"]["completion_tokens"] >= 1, out


def test_h7_many_stop_strings(start_server, tiny_model):
    s = start_server(tiny_model, "--max-body-bytes", "2000000")
    st, _, out = post_json(s.port, "/v1/completions", {"prompt": "a", "stop": ["abc"] * 100000})
    assert st == 400 and error_of(out)["param"] == "stop"
    assert "100000 strings; the limit is 16" in error_of(out)["message"]
    s.assert_serving()


# H8: no max_tokens anywhere: the server's -n applies
def test_h8_server_cap(server):
    st, _, out = post_json(server.port, "/v1/completions",
                           {"prompt": "hello", "temperature": 0, "ignore_eos": True})
    assert st == 200
    r = json.loads(out)
    assert r["usage"]["completion_tokens"] == 64 and r["choices"][0]["finish_reason"] == "length"


# H11: no endpoint takes a file name; paths that try are unknown endpoints
@pytest.mark.parametrize("path", [b"/../../etc/passwd", b"/v1/../health%00", b"/%2e%2e/etc"])
def test_h11_paths(server, path):
    st, _ = raw(server.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert st == 404
    server.assert_serving()


# H12: API key and CORS
def test_h12_api_key(start_server, tiny_model):
    s = start_server(tiny_model, "--api-key", "sekret")
    body = {"prompt": "a", "max_tokens": 1}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "sekret"},
                    {"Authorization": "Bearer sekret2"}):
        st, _, out = post_json(s.port, "/v1/completions", body, headers=headers)
        assert st == 401 and error_of(out)["type"] == "authentication_error"
    st, _, _ = request(s.port, "GET", "/v1/models")
    assert st == 401
    st, _, _ = post_json(s.port, "/v1/completions", body, headers={"Authorization": "Bearer sekret"})
    assert st == 200
    assert request(s.port, "GET", "/health")[0] == 200  # probes need no key


def test_h12_cors(start_server, tiny_model, server):
    # off by default
    st, hdr, _ = request(server.port, "OPTIONS", "/v1/completions",
                         headers={"Origin": "http://evil", "Access-Control-Request-Method": "POST"})
    assert st == 405 and "Access-Control-Allow-Origin" not in hdr
    st, hdr, _ = request(server.port, "GET", "/health", headers={"Origin": "http://evil"})
    assert "Access-Control-Allow-Origin" not in hdr
    s = start_server(tiny_model, "--cors", "http://ok.example")
    st, hdr, _ = request(s.port, "OPTIONS", "/v1/chat/completions",
                         headers={"Origin": "http://ok.example", "Access-Control-Request-Method": "POST"})
    assert st == 204
    assert hdr["Access-Control-Allow-Origin"] == "http://ok.example"
    assert "POST" in hdr["Access-Control-Allow-Methods"]
    assert "Authorization" in hdr["Access-Control-Allow-Headers"]
    st, hdr, _ = request(s.port, "GET", "/health")
    assert hdr["Access-Control-Allow-Origin"] == "http://ok.example"


# H13: while loading
def test_h13_loading(start_server, tiny_model):
    s = start_server(tiny_model, wait_ready=False, env={"BITNET_SERVE_TEST_LOAD_DELAY_MS": "1500"})
    st, hdr, out = request(s.port, "GET", "/health")
    assert st == 503
    assert error_of(out) == {"code": 503, "message": "Loading model", "type": "unavailable_error",
                             "param": None}
    assert hdr.get("Retry-After") == "1"
    st, _, out = post_json(s.port, "/v1/completions", {"prompt": "a"})
    assert st == 503
    t0 = time.time()
    while request(s.port, "GET", "/health")[0] != 200:
        assert time.time() - t0 < 30
        time.sleep(0.05)
    s.assert_serving()


def test_bad_model_or_settings_exit_with_a_message(workdir):
    import subprocess
    from serve_util import bitnet_bin
    r = subprocess.run([bitnet_bin(), "serve", "-m", "/nonexistent.gguf", "--port", "0"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "/nonexistent.gguf: cannot open" in r.stderr
    r = subprocess.run([bitnet_bin(), "serve", "-m", "x.gguf", "--port", "http"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "'http' is not an integer (from flag --port)" in r.stderr
