"""Reading the cluster deployment without a cluster: YAML documents, a small kustomize reader
(resources, configMapGenerator, namespace), the run file and each app's settings defaults."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
KNATIVE = REPO / "knative"
KIND = REPO / "kind-cluster"
COMPONENTS = REPO / "components"
DAPR = REPO / "dapr"
TILTFILE = REPO / "Tiltfile"
DOCKERFILE = REPO / "deploy" / "Dockerfile"

# Knative queue-proxy's ports in every pod of a Knative Service (serving, h2c/admin, metrics).
QUEUE_PROXY_PORTS = frozenset({8012, 8013, 8022, 9090, 9091})
# daprd's ports in Kubernetes mode unless an annotation moves them: HTTP API, gRPC API, internal
# gRPC, health/public (metrics: 9090 unless dapr.io/metrics-port).
DAPRD_DEFAULT_PORTS = {
    "dapr.io/http-port": 3500,
    "dapr.io/grpc-port": 50001,
    "dapr.io/internal-grpc-port": 50002,
    "dapr.io/public-port": 3501,
    "dapr.io/metrics-port": 9090,
}

TRADING_PATH = ("trading-engine", "market-data", "api-gateway", "orchestrator", "analytics")
SCALE_TO_ZERO = ("ai-decision",)

Doc = dict[str, Any]


def yaml_files(*roots: Path) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        files.extend(sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml")))
    return files


def load_docs(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def kustomization_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("kustomization.yaml"))


def kustomization(folder: Path) -> Doc:
    doc = yaml.safe_load((folder / "kustomization.yaml").read_text())
    assert isinstance(doc, dict), f"{folder}/kustomization.yaml is not a mapping"
    return doc


def generator_files(doc: Doc) -> list[str]:
    files: list[str] = []
    for generator in doc.get("configMapGenerator", []) + doc.get("secretGenerator", []):
        for entry in generator.get("files", []):
            files.append(str(entry).split("=", 1)[-1])
    return files


def referenced_paths(folder: Path) -> list[Path]:
    """Every path a kustomization names (resources, components, generators, patches)."""
    doc = kustomization(folder)
    names = [*doc.get("resources", []), *doc.get("components", []), *generator_files(doc)]
    for patch in doc.get("patches", []):
        if isinstance(patch, dict) and "path" in patch:
            names.append(patch["path"])
    return [(folder / name).resolve() for name in names]


def build(folder: Path) -> list[Doc]:
    """The objects `kustomize build folder` would emit (no patches or image rewrites)."""
    doc = kustomization(folder)
    objects: list[Doc] = []
    for name in doc.get("resources", []):
        path = (folder / name).resolve()
        objects.extend(build(path) if path.is_dir() else load_docs(path))
    for generator in doc.get("configMapGenerator", []):
        data = {}
        for entry in generator.get("files", []):
            key, _, source = str(entry).rpartition("=")
            source_path = folder / source
            data[key or source_path.name] = source_path.read_text()
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": data,
            }
        )
    if namespace := doc.get("namespace"):
        for obj in objects:
            if obj.get("kind") != "Namespace":
                obj.setdefault("metadata", {})["namespace"] = namespace
    return objects


def of_kind(objects: list[Doc], kind: str, api_group: str | None = None) -> list[Doc]:
    return [
        o
        for o in objects
        if o.get("kind") == kind
        and (api_group is None or str(o.get("apiVersion", "")).startswith(api_group + "/"))
    ]


def knative_services() -> dict[str, Doc]:
    services = of_kind(build(KNATIVE / "base"), "Service", "serving.knative.dev")
    return {s["metadata"]["name"]: s for s in services}


def cluster_components() -> list[tuple[Path, Doc]]:
    """Every Dapr Component of the cluster deployment with the file it is in."""
    out = []
    for path in yaml_files(KNATIVE):
        if path.name == "kustomization.yaml":
            continue
        out.extend((path, d) for d in load_docs(path) if d.get("kind") == "Component")
    return out


def local_components() -> dict[str, list[Doc]]:
    out: dict[str, list[Doc]] = {}
    for path in yaml_files(COMPONENTS):
        for d in load_docs(path):
            if d.get("kind") == "Component":
                out.setdefault(d["metadata"]["name"], []).append(d)
    return out


def run_file() -> Doc:
    doc = yaml.safe_load((DAPR / "dapr.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def run_file_apps() -> dict[str, Doc]:
    return {a["appID"]: a for a in run_file()["apps"]}


def settings_class(app_id: str) -> Any:
    """The app's settings class (apps/<app>/src/<pkg>/settings.py): the one with an env prefix."""
    module = importlib.import_module(app_id.replace("-", "_") + ".settings")
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and obj.__module__ == module.__name__
        and getattr(obj, "model_config", {}).get("env_prefix")
    ]
    assert len(classes) == 1, f"{module.__name__}: expected one settings class, got {classes}"
    return classes[0]


def settings_default_port(app_id: str) -> int:
    default = settings_class(app_id).model_fields["port"].default
    assert isinstance(default, int)
    return default


def settings_env_prefix(app_id: str) -> str:
    return str(settings_class(app_id).model_config["env_prefix"])


def walk_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from walk_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk_strings(value)
