"""The Knative Services of knative/base: Knative's API shape, the Dapr sidecar annotations, the
ports queue-proxy reserves, scale-to-zero, probes, env — against the run file and the apps'
settings, so a drift between the local run and the cluster fails here."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.deploy.manifests import (
    DAPRD_DEFAULT_PORTS,
    QUEUE_PROXY_PORTS,
    SCALE_TO_ZERO,
    TRADING_PATH,
    Doc,
    knative_services,
    run_file,
    run_file_apps,
    settings_default_port,
    settings_env_prefix,
)

# What Knative's webhook keeps of a revision's PodSpec and containers with no feature flag set
# (knative/serving pkg/apis/serving/fieldmask.go: PodSpecMask, ContainerMask, ProbeMask, …). A
# field outside these sets is rejected, or needs a flag in config-features.
REVISION_SPEC_FIELDS = {
    "containers",
    "volumes",
    "serviceAccountName",
    "imagePullSecrets",
    "enableServiceLinks",
    "containerConcurrency",
    "timeoutSeconds",
    "responseStartTimeoutSeconds",
    "idleTimeoutSeconds",
}
CONTAINER_FIELDS = {
    "name",
    "args",
    "command",
    "env",
    "workingDir",
    "envFrom",
    "image",
    "imagePullPolicy",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resources",
    "securityContext",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "volumeMounts",
}
PORT_FIELDS = {"containerPort", "name", "protocol"}
PROBE_FIELDS = {
    "httpGet",
    "exec",
    "tcpSocket",
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
}
HTTP_GET_FIELDS = {"host", "path", "scheme", "httpHeaders"}
SECURITY_CONTEXT_FIELDS = {"runAsUser", "readOnlyRootFilesystem", "capabilities"}
VOLUME_SOURCES = {"secret", "configMap", "projected"}
VOLUME_MOUNT_FIELDS = {"name", "readOnly", "mountPath", "subPath"}
ENV_FIELDS = {"name", "value", "valueFrom"}
ENV_SOURCES = {"configMapKeyRef", "secretKeyRef"}

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")

SERVICES = knative_services()
APPS = run_file_apps()


def template(service: Doc) -> Doc:
    result: Doc = service["spec"]["template"]
    return result


def annotations(service: Doc) -> dict[str, str]:
    result: dict[str, str] = template(service).get("metadata", {}).get("annotations", {})
    return result


def container(service: Doc) -> Doc:
    result: Doc = template(service)["spec"]["containers"][0]
    return result


def env_of(service: Doc) -> dict[str, Any]:
    return {e["name"]: e for e in container(service).get("env", [])}


def test_knative_services_one_per_run_file_app() -> None:
    assert sorted(SERVICES) == sorted(APPS)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_knative_service_shape_is_serving_v1_with_one_container(name: str) -> None:
    service = SERVICES[name]
    assert service["apiVersion"] == "serving.knative.dev/v1"
    assert service["kind"] == "Service"
    assert DNS_LABEL.match(service["metadata"]["name"])
    assert service["metadata"].get("namespace") == "trader"
    assert set(service["spec"]) <= {"template", "traffic"}
    assert set(template(service)) <= {"metadata", "spec"}
    containers = template(service)["spec"]["containers"]
    assert len(containers) == 1, "one user container: daprd is injected by Dapr, not declared"
    ports = containers[0]["ports"]
    assert len(ports) == 1, "Knative routes to exactly one container port"
    assert ports[0].get("name", "http1") in ("http1", "h2c")
    assert containers[0]["image"] == f"trader/{name}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_knative_service_fields_within_knative_field_masks(name: str) -> None:
    spec = template(SERVICES[name])["spec"]
    assert set(spec) <= REVISION_SPEC_FIELDS, set(spec) - REVISION_SPEC_FIELDS
    box = container(SERVICES[name])
    assert set(box) <= CONTAINER_FIELDS, set(box) - CONTAINER_FIELDS
    for port in box["ports"]:
        assert set(port) <= PORT_FIELDS
    for probe_name in ("readinessProbe", "livenessProbe"):
        probe = box.get(probe_name, {})
        assert set(probe) <= PROBE_FIELDS, (probe_name, set(probe) - PROBE_FIELDS)
        assert set(probe.get("httpGet", {})) <= HTTP_GET_FIELDS, (
            f"{probe_name}.httpGet: Knative probes the serving port itself; leave port out"
        )
    assert set(box.get("securityContext", {})) <= SECURITY_CONTEXT_FIELDS
    assert set(box.get("securityContext", {}).get("capabilities", {})) <= {"drop"}
    for env in box.get("env", []):
        assert set(env) <= ENV_FIELDS
        assert set(env.get("valueFrom", {})) <= ENV_SOURCES
    for mount in box.get("volumeMounts", []):
        assert set(mount) <= VOLUME_MOUNT_FIELDS
    for volume in spec.get("volumes", []):
        assert set(volume) - {"name"} <= VOLUME_SOURCES


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_knative_service_every_volume_is_mounted(name: str) -> None:
    """Knative rejects a revision that declares a volume no container mounts."""
    spec = template(SERVICES[name])["spec"]
    mounted = {m["name"] for m in container(SERVICES[name]).get("volumeMounts", [])}
    declared = {v["name"] for v in spec.get("volumes", [])}
    assert declared == mounted


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_knative_service_dapr_annotations_match_run_file_and_settings(name: str) -> None:
    notes = annotations(SERVICES[name])
    app = APPS[name]
    assert notes["dapr.io/enabled"] == "true"
    assert notes["dapr.io/app-id"] == name == app["appID"]
    assert int(notes["dapr.io/app-port"]) == app["appPort"] == settings_default_port(name)
    assert int(notes["dapr.io/app-port"]) == container(SERVICES[name])["ports"][0]["containerPort"]
    assert notes["dapr.io/app-protocol"] == run_file()["common"]["appProtocol"]
    assert notes["dapr.io/config"] == "trader-config"
    assert notes.get("dapr.io/app-health-check-path") == run_file()["common"]["appHealthCheckPath"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_knative_service_ports_avoid_queue_proxy_reserved_ports(name: str) -> None:
    notes = annotations(SERVICES[name])
    sidecar_ports = {int(notes.get(key, default)) for key, default in DAPRD_DEFAULT_PORTS.items()}
    container_ports = {p["containerPort"] for p in container(SERVICES[name])["ports"]}
    assert not (sidecar_ports | container_ports) & QUEUE_PROXY_PORTS, sorted(
        (sidecar_ports | container_ports) & QUEUE_PROXY_PORTS
    )
    assert "dapr.io/metrics-port" in notes, "daprd's default metrics port 9090 is queue-proxy's"
    assert not sidecar_ports & container_ports


def test_knative_services_min_scale_trading_path_one_ai_decision_zero() -> None:
    assert set(TRADING_PATH) | set(SCALE_TO_ZERO) == set(SERVICES)
    for name in TRADING_PATH:
        assert annotations(SERVICES[name])["autoscaling.knative.dev/min-scale"] == "1", name
    for name in SCALE_TO_ZERO:
        assert annotations(SERVICES[name])["autoscaling.knative.dev/min-scale"] == "0", name


def test_knative_services_max_scale_one_for_single_instance_apps() -> None:
    """Every app keeps state in its process or is a single writer (the event stream, the cron
    cycles, the dead-letter log, the feature store): more than one pod would split or duplicate."""
    for name, service in SERVICES.items():
        assert annotations(service)["autoscaling.knative.dev/max-scale"] == "1", name


def test_knative_services_only_the_gateway_is_reachable_from_outside() -> None:
    for name, service in SERVICES.items():
        visibility = service["metadata"].get("labels", {}).get("networking.knative.dev/visibility")
        expected = None if name == "api-gateway" else "cluster-local"
        assert visibility == expected, name


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_knative_service_probes_use_health_routes(name: str) -> None:
    box = container(SERVICES[name])
    assert box["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert box["livenessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_knative_service_env_matches_run_file_and_settings_prefix(name: str) -> None:
    env = env_of(SERVICES[name])
    prefix = settings_env_prefix(name)
    for key, value in (APPS[name].get("env") or {}).items():
        assert key in env, f"{name}: {key} of dapr/dapr.yaml is missing"
        assert env[key].get("value") == str(value), f"{name}: {key} differs from dapr/dapr.yaml"
    assert env[f"{prefix}PORT"]["value"] == str(APPS[name]["appPort"])
    assert env[f"{prefix}APP_ID"]["value"] == name
    assert env[f"{prefix}HOST"]["value"] == "0.0.0.0"
    for key in env:
        assert key.startswith(prefix) or key.startswith("TRADER_"), f"{name}: stray {key}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_knative_service_resources_set_requests_and_memory_limit(name: str) -> None:
    resources = container(SERVICES[name])["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]


def test_knative_services_secretstore_scoped_apps_mount_the_secret_in_the_sidecar() -> None:
    from tests.unit.deploy.manifests import KNATIVE, load_docs

    (store,) = load_docs(KNATIVE / "base" / "dapr" / "secretstore.yaml")
    secrets_file = next(m["value"] for m in store["spec"]["metadata"] if m["name"] == "secretsFile")
    for app in store["scopes"]:
        mounts = annotations(SERVICES[app]).get("dapr.io/volume-mounts", "")
        volumes = {v["name"]: v for v in template(SERVICES[app])["spec"].get("volumes", [])}
        pairs = dict(item.split(":", 1) for item in mounts.split(",") if item)
        assert any(secrets_file.startswith(path + "/") for path in pairs.values()), app
        for volume in pairs:
            assert volumes[volume]["secret"]["secretName"] == "trader-secrets"
