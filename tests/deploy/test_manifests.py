"""deploy/ and the Dockerfile, checked without a cluster: Kubernetes schemas
(kubernetes-validate ships them), cross-references, the Nomad job, the runtime
config they carry, and the Dockerfile's instructions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from wasm_server.config import load_runtime_config

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30"


def documents() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path.name, doc))
    return out


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for _, d in documents() if d["kind"] == kind]


@pytest.mark.parametrize(("name", "doc"), documents(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_every_kubernetes_manifest_validates_against_its_schema(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_references_between_manifests_hold() -> None:
    deployment = next(d for d in by_kind("Deployment") if d["metadata"]["name"] == "wasm-server")
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    configmaps = {d["metadata"]["name"] for d in by_kind("ConfigMap")}
    secrets = {d["metadata"]["name"]: d for d in by_kind("Secret")}
    assert {v["configMap"]["name"] for v in pod["spec"]["volumes"] if "configMap" in v} <= configmaps
    token = container["env"][0]["valueFrom"]["secretKeyRef"]
    assert token["key"] in secrets[token["name"]]["stringData"]
    assert container["env"][0]["name"] == "WASM_SERVER_ADMIN_TOKEN"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080, "admin": 9090}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    labels = pod["metadata"]["labels"]
    for svc in by_kind("Service"):
        selector = svc["spec"]["selector"]
        targets = {p["targetPort"] for p in svc["spec"]["ports"]}
        if svc["metadata"]["name"].startswith("wasm-server"):
            assert selector.items() <= labels.items() and targets <= set(ports)
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert {"/var/lib/wasm-server", "/var/cache/wasm-server", "/tmp"} <= writable


def test_the_runtime_config_in_the_configmap_loads(tmp_path: Path) -> None:
    text = by_kind("ConfigMap")[0]["data"]["runtime.toml"]
    tomllib.loads(text)
    (tmp_path / "runtime.toml").write_text(text)
    cfg = load_runtime_config(tmp_path / "runtime.toml", {})
    assert [a.url() for a in cfg.listen] == ["http://0.0.0.0:8080"]
    assert cfg.admin is not None and cfg.admin.port == 9090
    assert cfg.cluster_redis == "redis://redis:6379/0"
    assert cfg.key_value_stores["default"]["type"] == "redis"
    assert cfg.log_format == "json"
    redis_service = next(s for s in by_kind("Service") if s["metadata"]["name"] == "redis")
    assert redis_service["spec"]["ports"][0]["port"] == 6379


def test_nomad_job_parses_and_checks_health_on_the_admin_port() -> None:
    hcl2 = pytest.importorskip("hcl2")
    job = hcl2.loads((ROOT / "deploy" / "nomad" / "wasm-server.nomad.hcl").read_text())

    def unq(s: str) -> str:
        return s.strip('"')

    [(job_name, spec)] = job["job"][0].items()
    assert unq(job_name) == "wasm-server"
    groups = {unq(name): g for entry in spec["group"] for name, g in entry.items()}
    assert set(groups) == {"redis", "nodes"} and groups["nodes"]["count"] == 3
    check = groups["nodes"]["service"][0]["check"][0]
    assert unq(check["type"]) == "http" and unq(check["path"]) == "/readyz" and unq(check["port"]) == "admin"
    task = next(iter(groups["nodes"]["task"][0].values()))
    templates = task["template"]
    runtime = next(t for t in templates if unq(t["destination"]) == "local/runtime.toml")
    assert "[cluster]" in runtime["data"] and 'type = "redis"' in runtime["data"]


def test_dockerfile_runs_as_non_root_and_serves_http_and_admin() -> None:
    text = (ROOT / "Dockerfile").read_text()
    instructions = [ln.split(None, 1) for ln in text.splitlines() if ln and not ln.startswith(("#", " "))]
    names = [i[0] for i in instructions]
    assert names[0] == "FROM" and "python:3.11" in instructions[0][1]
    assert ("USER", "wasm") in [(i[0], i[1].strip()) for i in instructions]
    assert re.search(r"^EXPOSE 8080 9090$", text, re.M)
    assert re.search(r'^ENTRYPOINT \["wasm-server"\]$', text, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd and '"--admin", "0.0.0.0:9090"' in cmd.group(1) and '"0.0.0.0:8080"' in cmd.group(1)
    assert "HEALTHCHECK" in names and "/healthz" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "**/*.wasm" in ignored
