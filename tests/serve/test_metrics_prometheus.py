"""GET /metrics of the real server, and Debian's real Prometheus scraping it:
a query through Prometheus' HTTP API returns the tokens the server generated.
Skipped without the prometheus binary."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from serve_util import post_json, request


def metric(text, name, label=None):
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == name or (label and key == '%s{%s}' % (name, label)):
            return float(value)
    raise AssertionError("no %s%s in\n%s" % (name, label or "", text))


def test_metrics_endpoint_counts(start_server, tiny_model):
    s = start_server(tiny_model, "-np", "2")
    served = 0
    for i in range(3):
        st, _, out = post_json(s.port, "/v1/completions",
                               {"prompt": "hello %d" % i, "max_tokens": 5 + i, "ignore_eos": True})
        assert st == 200
        served += json.loads(out)["usage"]["completion_tokens"]
    post_json(s.port, "/v1/completions", {"prompt": "a", "temperature": -1})  # refused: error
    st, hdr, body = request(s.port, "GET", "/metrics")
    assert st == 200 and hdr["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert metric(text, "bitnet_generated_tokens_total") == served == 5 + 6 + 7
    assert metric(text, "bitnet_requests_total", 'outcome="ok"') == 3
    assert metric(text, "bitnet_requests_total", 'outcome="error"') == 1
    assert metric(text, "bitnet_time_to_first_token_seconds_count") == 3
    assert metric(text, "bitnet_time_per_output_token_seconds_count") == served - 3
    assert metric(text, "bitnet_request_duration_seconds_count") == 3
    assert metric(text, "bitnet_slots_total") == 2
    assert metric(text, "bitnet_slots_busy") == 0
    assert metric(text, "bitnet_kv_cache_used_cells") > 0
    # off: 501, as llama-server answers without --metrics
    off = start_server(tiny_model, "--no-metrics")
    assert request(off.port, "GET", "/metrics")[0] == 501


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_prometheus_scrapes_served_tokens(start_server, tiny_model, workdir):
    prom_bin = os.environ.get("BITNET_PROMETHEUS") or shutil.which("prometheus") or "/usr/bin/prometheus"
    if not os.path.exists(prom_bin):
        pytest.skip("no prometheus binary (Debian package prometheus; ci/install-deps.sh)")
    s = start_server(tiny_model)
    served = 0
    for i in range(4):
        out = json.loads(post_json(s.port, "/v1/completions",
                                   {"prompt": "x %d" % i, "max_tokens": 3 + i, "ignore_eos": True})[2])
        served += out["usage"]["completion_tokens"]
    d = os.path.join(workdir, "prometheus")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    conf = os.path.join(d, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                "  - job_name: bitnet\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % s.port)
    port = free_port()
    log = open(os.path.join(d, "prometheus.log"), "wb")
    prom = subprocess.Popen([prom_bin, "--config.file=" + conf, "--storage.tsdb.path=" + d + "/data",
                             "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = "http://127.0.0.1:%d/api/v1/query?query=bitnet_generated_tokens_total" % port
        t0, value = time.time(), None
        while time.time() - t0 < 60:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    res = json.load(r)["data"]["result"]
                if res:
                    value = float(res[0]["value"][1])
                    if value == served:
                        break
            except OSError:
                pass
            time.sleep(0.3)
        assert value == served == 3 + 4 + 5 + 6, (value, served)
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/targets" % port, timeout=5) as r:
            targets = json.load(r)["data"]["activeTargets"]
        assert targets[0]["health"] == "up", targets
    finally:
        prom.send_signal(signal.SIGTERM)
        try:
            prom.wait(timeout=20)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
        log.close()
