"""The Kubernetes manifests (docker/k8s/) validate offline against the Kubernetes schemas.

kubernetes-validate ships the OpenAPI schemas of every Kubernetes release, so this
needs no cluster and no network. Each resource file is checked on its own (always), and
each overlay rendered by kustomize (``kubectl kustomize``, or a ``kustomize`` binary,
when one is installed) is checked as a whole: names, references and the settings the
testbed needs (GPUs, shards, scraping, Secrets).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

# The dev extra (scripts/setup.sh) installs it, with PyYAML: missing is a failure, not a skip.
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).parents[2]
K8S = ROOT / "docker" / "k8s"
OVERLAYS = ("lab", "gpu")
KUBE_VERSIONS = ("1.30.0", "1.37.0")
"""The oldest release we claim (pod-index labels need >= 1.28) and the newest shipped."""
SECRETS = {"aaas-orchestrator-broker", "aaas-edge-broker", "aaas-link-broker",
           "aaas-user-broker", "aaas-grafana-admin", "aaas-mosquitto-auth", "aaas-broker-tls"}
"""The Secrets the manifests reference by name (docker/k8s/README.md lists them)."""


def _validate(doc: dict[str, Any], where: str) -> None:
    for version in KUBE_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{where}: {doc['kind']} {doc['metadata'].get('name')} "
                        f"(Kubernetes {version}): {exc.message} at {list(exc.path)}")


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def _kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def _resource_files() -> list[Path]:
    """Every file a kustomization lists as a resource or patch."""
    out = []
    for k in _kustomizations():
        spec = yaml.safe_load(k.read_text())
        out += [k.parent / r for r in spec.get("resources", []) if r.endswith(".yaml")]
    return out


def test_every_resource_file_validates() -> None:
    files = _resource_files()
    assert len(files) >= 9
    for f in files:
        for doc in _docs(f.read_text()):
            _validate(doc, str(f.relative_to(ROOT)))


def test_kustomization_references_resolve() -> None:
    for k in _kustomizations():
        spec = yaml.safe_load(k.read_text())
        refs = list(spec.get("resources", []))
        refs += [p["path"] for p in spec.get("patches", []) if "path" in p]
        for gen in spec.get("configMapGenerator", []) + spec.get("secretGenerator", []):
            refs += [f.split("=", 1)[-1] for f in gen.get("files", [])]
        for ref in refs:
            target = (k.parent / ref).resolve()
            assert target.exists(), f"{k.relative_to(ROOT)}: {ref} does not exist"
            if target.is_dir():
                assert (target / "kustomization.yaml").exists(), f"{ref} is no kustomization"


def test_every_dashboard_is_provisioned() -> None:
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    files = {f.split("=", 1)[1] for g in base["configMapGenerator"]
             if g["name"] == "aaas-grafana-dashboards" for f in g["files"]}
    shipped = {f"../../../monitoring/grafana/dashboards/{p.name}"
               for p in (ROOT / "monitoring" / "grafana" / "dashboards").glob("*.json")}
    assert files == shipped


def _render(overlay: str) -> list[dict[str, Any]]:
    kubectl, kustomize = shutil.which("kubectl"), shutil.which("kustomize")
    if kustomize:
        cmd = [kustomize, "build", "--load-restrictor", "LoadRestrictionsNone"]
    elif kubectl:
        cmd = [kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone"]
    else:
        pytest.skip("no kustomize or kubectl to render the overlays; the resource files "
                    "are validated one by one above")
    out = subprocess.run([*cmd, str(K8S / "overlays" / overlay)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return _docs(out.stdout)


def _pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d["spec"]["template"] for d in docs
            if d["kind"] in ("Deployment", "StatefulSet")}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_overlay_validates(overlay: str) -> None:
    docs = _render(overlay)
    for doc in docs:
        _validate(doc, f"overlays/{overlay}")
    pods = _pod_specs(docs)
    assert set(pods) == {"aaas-broker", "aaas-link", "aaas-orchestrator", "aaas-edge",
                         "aaas-users", "aaas-prometheus", "aaas-grafana"}
    # Prometheus scrapes every pod that serves /metrics.
    for name in ("aaas-link", "aaas-orchestrator", "aaas-edge", "aaas-users"):
        assert pods[name]["metadata"]["annotations"]["prometheus.io/scrape"] == "true", name
    # The user agents' ordinal is their shard.
    users = pods["aaas-users"]["spec"]["containers"][0]
    assert "$(POD_INDEX)/$(AAAS_USER_SHARDS)" in users["args"]
    sts = {d["metadata"]["name"]: d for d in docs if d["kind"] == "StatefulSet"}
    env = {e["name"]: e for e in users["env"]}
    assert env["AAAS_USER_SHARDS"]["value"] == str(sts["aaas-users"]["spec"]["replicas"])
    assert "pod-index" in env["POD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
    edge = pods["aaas-edge"]["spec"]["containers"][0]
    edge_env = {e["name"]: e for e in edge["env"]}
    assert edge_env["AAAS_EDGE_PODS"]["value"] == str(sts["aaas-edge"]["spec"]["replicas"])
    gpus = edge["resources"].get("limits", {}).get("nvidia.com/gpu")
    assert (gpus == 1) if overlay == "gpu" else gpus is None
    # Credentials come from Secrets, by the names the README documents.
    generated = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    for pod in pods.values():
        for c in pod["spec"]["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    name = ref["name"]
                    if overlay == "lab":  # generated here, with kustomize's hash suffix
                        assert name in generated, name
                        name = name.rsplit("-", 1)[0]
                    assert name in SECRETS, name
