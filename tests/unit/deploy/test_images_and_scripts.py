"""deploy/Dockerfile and the kind-cluster scripts, read as text: the paths they copy or apply
exist, every workspace member's pyproject reaches the image, the app runs as a non-root user,
the scripts are strict bash with their prerequisites checked, and the versions are pinned."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.deploy.manifests import DOCKERFILE, KIND, REPO, load_docs, run_file_apps

DOCKER_TEXT = DOCKERFILE.read_text()
SCRIPTS = sorted(KIND.glob("*.sh"))


def copy_sources() -> list[str]:
    """Sources of COPY lines that copy from the build context (not --from another stage)."""
    sources = []
    for line in DOCKER_TEXT.splitlines():
        parts = line.split()
        if not parts or parts[0] != "COPY" or any(p.startswith("--from") for p in parts):
            continue
        args = [p for p in parts[1:] if not p.startswith("--")]
        sources.extend(args[:-1])
    return sources


def test_dockerfile_copied_paths_exist_for_every_app() -> None:
    sources = copy_sources()
    assert sources
    for app in run_file_apps():
        for source in sources:
            path = REPO / source.replace("${APP}", app)
            assert path.exists(), f"deploy/Dockerfile copies {source}: {path} does not exist"


def test_dockerfile_copies_every_workspace_member_pyproject() -> None:
    members = sorted(
        str(p.relative_to(REPO))
        for p in REPO.glob("*/*/pyproject.toml")
        if p.parts[-3] in ("apps", "libs")
    )
    sources = set(copy_sources())
    missing = [m for m in members if m not in sources]
    assert not missing, f"uv needs every workspace member to read uv.lock; missing {missing}"
    assert {"uv.lock", "pyproject.toml"} <= sources


def test_dockerfile_syncs_frozen_without_dev_and_runs_the_module_as_non_root() -> None:
    syncs = re.findall(r"uv sync ([^\n]*)", DOCKER_TEXT)
    assert len(syncs) == 2
    for flags in syncs:
        assert "--frozen" in flags and "--no-dev" in flags and '--package "$APP"' in flags
    users = re.findall(r"^USER (\S+)", DOCKER_TEXT, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert 'python -m \\"$TRADER_APP_MODULE\\"' in DOCKER_TEXT
    for app, spec in run_file_apps().items():
        assert spec["command"][:2] == ["python", "-m"], app


def test_dockerfile_uv_version_matches_makefile_pin() -> None:
    makefile_pin = re.search(r"^UV_VERSION := (\S+)", (REPO / "Makefile").read_text(), re.M)
    docker_pin = re.search(r"^ARG UV_VERSION=(\S+)", DOCKER_TEXT, re.M)
    assert makefile_pin and docker_pin
    assert docker_pin.group(1) == makefile_pin.group(1)


def test_dockerfile_user_matches_knative_run_as_user() -> None:
    from tests.unit.deploy.manifests import knative_services

    user = re.findall(r"^USER (\d+)", DOCKER_TEXT, re.M)[-1]
    for name, service in knative_services().items():
        context = service["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        assert str(context["runAsUser"]) == user, name


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_script_is_strict_executable_bash(script: Path) -> None:
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert os.access(script, os.X_OK), f"chmod +x {script}"
    bash = shutil.which("bash")
    if bash:
        result = subprocess.run(
            [bash, "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_script_checks_its_prerequisites_with_a_message(script: Path) -> None:
    text = script.read_text()
    assert "command -v" in text
    assert "not installed" in text or "missing:" in text


def test_setup_pins_dapr_release_of_runtime_go_mod() -> None:
    go_mod = (REPO / "dapr" / "runtime" / "go.mod").read_text()
    runtime = re.search(r"github\.com/dapr/dapr v(\d+\.\d+\.\d+)", go_mod)
    pinned = re.search(r'^DAPR_VERSION="([^"]+)"', (KIND / "setup.sh").read_text(), re.M)
    assert runtime and pinned
    assert pinned.group(1) == runtime.group(1)


def test_setup_pins_knative_releases_of_one_minor_version() -> None:
    text = (KIND / "setup.sh").read_text()
    versions = re.findall(r'^KNATIVE_\w+_VERSION="knative-v(\d+)\.(\d+)\.\d+"', text, re.M)
    assert len(versions) == 3
    assert len(set(versions)) == 1, "Serving, Kourier and Eventing of one release"


def test_setup_applies_existing_repo_paths_and_kind_config() -> None:
    text = (KIND / "setup.sh").read_text()
    paths = re.findall(r"\$\{ROOT\}/([\w./-]+)", text) + re.findall(r"\$\{HERE\}/([\w./-]+)", text)
    assert paths
    for path in paths:
        base = REPO if (REPO / path).exists() else KIND
        assert (base / path).exists(), path
    # .local/secrets.json is optional (made by `make run`), the template is the fallback
    assert "components/secrets/secrets.template.json" in text


def test_kind_config_maps_the_kourier_node_ports_setup_assigns() -> None:
    (config,) = load_docs(KIND / "kind-config.yaml")
    mapped = {m["containerPort"] for n in config["nodes"] for m in n.get("extraPortMappings", [])}
    assigned = {int(p) for p in re.findall(r'"nodePort":(\d+)', (KIND / "setup.sh").read_text())}
    assert assigned and assigned == mapped
    name = re.search(r'CLUSTER_NAME="\$\{CLUSTER_NAME:-(\w+)\}"', (KIND / "setup.sh").read_text())
    assert name and config["name"] == name.group(1)
    assert f"allow_k8s_contexts('kind-{config['name']}')" in (REPO / "Tiltfile").read_text()


def test_setup_creates_the_secrets_the_manifests_reference() -> None:
    from tests.unit.deploy.manifests import KNATIVE, walk_strings, yaml_files

    text = (KIND / "setup.sh").read_text()
    created = set(re.findall(r"create secret generic ([\w-]+)", text))
    referenced: set[str] = set()
    for path in yaml_files(KNATIVE, KIND):
        for doc in load_docs(path):
            referenced |= _secret_names(doc)
    assert referenced <= created | {"trader-anthropic"}, referenced - created
    assert "trader-anthropic" in created  # optional: created when ANTHROPIC_API_KEY is set
    assert list(walk_strings({"a": ["b"]})) == ["b"]


def _secret_names(node: object) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("secretKeyRef",) and isinstance(value, dict):
                names.add(value["name"])
            elif key == "secret" and isinstance(value, dict) and "secretName" in value:
                names.add(value["secretName"])
            else:
                names |= _secret_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _secret_names(value)
    return names
