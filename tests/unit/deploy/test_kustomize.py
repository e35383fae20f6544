"""Every manifest parses, every kustomization lists exactly the files of its folder and only
paths that exist, the infrastructure matches what `trader` runs locally, and the market-hours
schedule may patch nothing but ai-decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.deploy.manifests import (
    KIND,
    KNATIVE,
    build,
    kustomization,
    kustomization_dirs,
    load_docs,
    of_kind,
    referenced_paths,
    yaml_files,
)
from trader_cli.infra import streams

KUSTOMIZATIONS = kustomization_dirs(KNATIVE) + kustomization_dirs(KIND)
ALL_YAML = yaml_files(KNATIVE, KIND)


def rel(path: Path) -> str:
    return str(path.relative_to(KNATIVE.parent))


@pytest.mark.parametrize("path", ALL_YAML, ids=[rel(p) for p in ALL_YAML])
def test_manifest_every_document_parses_with_kind_and_api_version(path: Path) -> None:
    docs = load_docs(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        assert isinstance(doc, dict)
        if path.name == "kind-config.yaml":
            assert doc["apiVersion"] == "kind.x-k8s.io/v1alpha4"
            continue
        assert doc.get("apiVersion") and doc.get("kind"), f"{path}: {doc}"
        if path.name != "kustomization.yaml":
            assert doc.get("metadata", {}).get("name"), f"{path}: an object without a name"


def files_owned_by(folder: Path) -> set[Path]:
    """The files of folder and its subfolders, except those under another kustomization."""
    nested = {d for d in kustomization_dirs(folder) if d != folder}
    owned = set()
    for path in folder.rglob("*"):
        if not path.is_file() or path.name in ("kustomization.yaml", "README.md"):
            continue
        if any(n in path.parents for n in nested):
            continue
        owned.add(path.resolve())
    return owned


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=[rel(p) for p in KUSTOMIZATIONS])
def test_kustomization_every_file_in_folder_is_listed(folder: Path) -> None:
    listed = set(referenced_paths(folder))
    for path in list(listed):
        if path.is_dir():
            listed |= {p.resolve() for p in path.rglob("*")}
    missing = sorted(str(p.relative_to(folder)) for p in files_owned_by(folder) - listed)
    assert not missing, f"{folder}/kustomization.yaml does not list {missing}"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=[rel(p) for p in KUSTOMIZATIONS])
def test_kustomization_every_referenced_path_exists(folder: Path) -> None:
    for path in referenced_paths(folder):
        assert path.exists(), f"{folder}/kustomization.yaml names {path}, which does not exist"
        if path.is_dir():
            assert (path / "kustomization.yaml").is_file(), f"{path} is no kustomization"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=[rel(p) for p in KUSTOMIZATIONS])
def test_kustomization_builds_objects_with_unique_identity(folder: Path) -> None:
    objects = build(folder)
    assert objects
    identities = [
        (
            o["apiVersion"].split("/")[0],
            o["kind"],
            o["metadata"].get("namespace"),
            o["metadata"]["name"],
        )
        for o in objects
    ]
    duplicates = {i for i in identities if identities.count(i) > 1}
    assert not duplicates, duplicates


def test_kustomization_default_and_overlay_pick_one_backend_per_role() -> None:
    for folder in (KNATIVE, KNATIVE / "overlays" / "kafka-postgres"):
        objects = build(folder)
        names = [c["metadata"]["name"] for c in of_kind(objects, "Component")]
        assert names.count("pubsub") == 1, folder
        assert names.count("statestore") == 1, folder


def test_kustomization_images_rewrite_every_image_the_base_uses() -> None:
    used = set()
    for obj in build(KNATIVE / "base"):
        for text in _images(obj):
            used.add(text)
    for folder in (KNATIVE, KNATIVE / "overlays" / "kafka-postgres"):
        rewritten = {i["name"] for i in kustomization(folder)["images"]}
        assert used == rewritten, folder


def _images(node: object) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_images(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_images(value))
    return found


def test_nats_streams_job_subjects_match_trader_streams() -> None:
    (job,) = load_docs(KIND / "infra" / "nats-streams.yaml")
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    expected = streams()
    assert set(expected) == {"TRADER", "TRADER_DEADLETTERS"}
    assert env["TRADER_SUBJECTS"].split(",") == expected["TRADER"]
    assert env["TRADER_DEADLETTERS_SUBJECTS"].split(",") == expected["TRADER_DEADLETTERS"]


def test_infra_services_answer_the_hosts_the_components_use() -> None:
    services = {
        s["metadata"]["name"]: s
        for folder in (KIND / "infra", KIND / "infra-kafka")
        for s in of_kind(build(folder), "Service")
    }
    hosts = {
        "nats": 4222,
        "redis": 6379,
        "postgres": 5432,
        "kafka": 9092,
    }
    for name, port in hosts.items():
        assert port in [p["port"] for p in services[name]["spec"]["ports"]], name
    component_text = "\n".join(p.read_text() for p in yaml_files(KNATIVE / "backends"))
    for name, port in hosts.items():
        if name != "postgres":  # its DSN is in the Secret setup.sh creates
            assert f"{name}.trader.svc.cluster.local:{port}" in component_text, name


def test_market_hours_role_allows_only_patch_of_ai_decision_service() -> None:
    objects = build(KNATIVE / "base")
    (role,) = of_kind(objects, "Role")
    assert role["rules"] == [
        {
            "apiGroups": ["serving.knative.dev"],
            "resources": ["services"],
            "resourceNames": ["ai-decision"],
            "verbs": ["patch"],
        }
    ]
    (binding,) = of_kind(objects, "RoleBinding")
    (account,) = of_kind(objects, "ServiceAccount")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "trader"}
    ]
    for job in of_kind(objects, "CronJob"):
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == account["metadata"]["name"]


def test_market_hours_cronjobs_open_and_close_on_new_york_weekdays() -> None:
    jobs = {j["metadata"]["name"]: j for j in of_kind(build(KNATIVE / "base"), "CronJob")}
    assert set(jobs) == {"ai-decision-market-open", "ai-decision-market-close"}
    for name, job in jobs.items():
        assert job["spec"]["timeZone"] == "America/New_York"
        minute, hour, _, _, weekdays = job["spec"]["schedule"].split()
        assert weekdays == "1-5"
        hours = [int(h) for h in hour.split(",")]
        action = name.rsplit("-", 1)[-1]
        command = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
        assert command[-1] == action
        if action == "open":
            assert (hours[0], int(minute)) < (9, 30), "warm before the 09:30 open"
        else:
            assert 13 in hours and 16 in hours, "after the early close (13:00) and the close"
            assert int(minute) > 0


def test_market_hours_configmap_holds_the_script_the_cronjobs_run() -> None:
    objects = build(KNATIVE / "base")
    (config_map,) = [
        c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"] == "market-hours"
    ]
    for job in of_kind(objects, "CronJob"):
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if "configMap" in v)
        assert volume["configMap"]["name"] == "market-hours"
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
        script = pod["containers"][0]["command"][1]
        assert script.startswith(mount["mountPath"] + "/")
        assert Path(script).name in config_map["data"]
