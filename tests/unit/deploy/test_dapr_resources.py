"""The cluster's Dapr resources against their local counterparts: same logical names (the apps
only know pubsub, statestore, secretstore, ai-requests, cycle-cron), same types and settings,
the same subscriptions and resiliency; connection details are the only intended difference."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.unit.deploy.manifests import (
    DAPR,
    KNATIVE,
    REPO,
    build,
    cluster_components,
    knative_services,
    load_docs,
    local_components,
    of_kind,
    run_file_apps,
    settings_class,
    yaml_files,
)

CLUSTER_COMPONENTS = cluster_components()
LOCAL = local_components()
APP_IDS = set(run_file_apps())


def ids(items: list[tuple[object, dict[str, object]]]) -> list[str]:
    return [f"{path}:{doc['metadata']['name']}" for path, doc in items]  # type: ignore[index]


def metadata_names(component: dict[str, object]) -> set[str]:
    return {str(m["name"]) for m in component["spec"]["metadata"]}  # type: ignore[index]


@pytest.mark.parametrize(("path", "component"), CLUSTER_COMPONENTS, ids=ids(CLUSTER_COMPONENTS))
def test_cluster_component_has_local_counterpart_with_same_name_and_type(
    path: object, component: dict[str, object]
) -> None:
    name = component["metadata"]["name"]  # type: ignore[index]
    assert name in LOCAL, f"{path}: no component named {name!r} under components/"
    spec = component["spec"]
    matches = [
        c
        for c in LOCAL[name]
        if c["spec"]["type"] == spec["type"]  # type: ignore[index]
        and c["spec"]["version"] == spec["version"]  # type: ignore[index]
    ]
    assert matches, f"{path}: {name} has no local counterpart of type {spec['type']}"  # type: ignore[index]
    assert metadata_names(component) == metadata_names(matches[0]), (
        f"{path}: {name} sets other fields than its local counterpart"
    )
    local_scopes = matches[0].get("scopes")
    cluster_scopes = component.get("scopes")
    if local_scopes is None:  # every app locally; the cluster may narrow it to some apps
        assert cluster_scopes is None or set(cluster_scopes) <= APP_IDS  # type: ignore[arg-type]
    else:
        assert cluster_scopes == local_scopes


def test_secretstore_scope_includes_every_app_that_reads_secrets() -> None:
    """An app whose settings name a secret store must see it (the cluster narrows the scope)."""
    (store,) = load_docs(KNATIVE / "base" / "dapr" / "secretstore.yaml")
    readers = {app for app in APP_IDS if "secret_store" in settings_class(app).model_fields}
    assert readers, "no app reads secrets any more: drop or widen the narrowed scope"
    assert readers <= set(store["scopes"])


@pytest.mark.parametrize(("path", "component"), CLUSTER_COMPONENTS, ids=ids(CLUSTER_COMPONENTS))
def test_cluster_component_reads_no_environment_and_lives_in_trader(
    path: object, component: dict[str, object]
) -> None:
    """Locally the sidecars get TRADER_* variables; in the cluster nothing sets them."""
    assert component["metadata"].get("namespace") == "trader"  # type: ignore[attr-defined]
    for item in component["spec"]["metadata"]:  # type: ignore[index]
        assert "envRef" not in item, f"{path}: {item['name']} uses envRef"
        assert ("value" in item) != ("secretKeyRef" in item), f"{path}: {item['name']}"


def test_cluster_components_cover_every_local_component_name() -> None:
    cluster_names = {c["metadata"]["name"] for _, c in CLUSTER_COMPONENTS}
    assert cluster_names == set(LOCAL)


def test_cluster_components_one_backend_folder_per_local_profile() -> None:
    for role in ("pubsub", "state"):
        local = sorted(p.name for p in (REPO / "components" / role).iterdir() if p.is_dir())
        cluster = sorted(p.name for p in (KNATIVE / "backends" / role).iterdir() if p.is_dir())
        assert cluster == local, role


def test_cluster_component_scopes_name_real_app_ids() -> None:
    for path in yaml_files(KNATIVE):
        for doc in load_docs(path):
            for app in doc.get("scopes", []) if isinstance(doc, dict) else []:
                assert app in APP_IDS, f"{path}: scope {app!r} is no app id"


def test_ai_requests_binding_url_is_ai_decision_cluster_local_address() -> None:
    (binding,) = load_docs(KNATIVE / "base" / "dapr" / "ai-requests.yaml")
    url = next(m["value"] for m in binding["spec"]["metadata"] if m["name"] == "url")
    parsed = urlparse(url)
    service = knative_services()["ai-decision"]
    assert parsed.scheme == "http"
    assert parsed.hostname == f"ai-decision.{service['metadata']['namespace']}.svc.cluster.local"
    assert parsed.port is None, "the Service answers on port 80 (Kourier → activator → pod)"
    assert parsed.path in ("", "/"), "the orchestrator adds the path itself"
    workflow = (REPO / "apps/orchestrator/src/orchestrator/adapters/workflow.py").read_text()
    assert '"path": "/decisions/requests"' in workflow
    timeout = next(
        m["value"] for m in binding["spec"]["metadata"] if m["name"] == "responseTimeout"
    )
    assert int(timeout.rstrip("s")) < 90, "below the orchestrator's own 90 s client timeout"


def test_trigger_delivers_decision_requests_to_ai_decision_route() -> None:
    (trigger,) = load_docs(KNATIVE / "base" / "eventing" / "trigger.yaml")
    (broker,) = load_docs(KNATIVE / "base" / "eventing" / "broker.yaml")
    assert trigger["spec"]["broker"] == broker["metadata"]["name"]
    subscriber = trigger["spec"]["subscriber"]
    assert subscriber["ref"] == {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "name": "ai-decision",
    }
    routes = (REPO / "apps/ai-decision/src/ai_decision/api/requests.py").read_text()
    assert f'"{subscriber["uri"]}"' in routes
    from ai_decision.domain.commands import REQUEST_DECISION_TYPE

    assert trigger["spec"]["filter"]["attributes"]["type"] == REQUEST_DECISION_TYPE


def _without_namespace(doc: dict[str, object]) -> dict[str, object]:
    copy = dict(doc)
    copy["metadata"] = {k: v for k, v in doc["metadata"].items() if k != "namespace"}  # type: ignore[attr-defined]
    return copy


def test_cluster_subscriptions_equal_local_subscriptions() -> None:
    local = [d for p in yaml_files(DAPR / "subscriptions") for d in load_docs(p)]
    cluster = load_docs(KNATIVE / "base" / "dapr" / "subscriptions.yaml")
    key = lambda d: d["metadata"]["name"]  # noqa: E731
    assert sorted(map(_without_namespace, cluster), key=key) == sorted(local, key=key)


def test_cluster_resiliency_equals_local_resiliency() -> None:
    (local,) = load_docs(DAPR / "resiliency" / "resiliency.yaml")
    (cluster,) = load_docs(KNATIVE / "base" / "dapr" / "resiliency.yaml")
    assert _without_namespace(cluster) == local


def test_cluster_configuration_matches_local_and_services_use_it() -> None:
    (local,) = load_docs(DAPR / "config.yaml")
    (cluster,) = load_docs(KNATIVE / "base" / "dapr" / "configuration.yaml")
    assert cluster["metadata"]["name"] == local["metadata"]["name"]
    assert cluster["spec"]["features"] == local["spec"]["features"]
    assert cluster["spec"]["metrics"] == local["spec"]["metrics"]
    for name, service in knative_services().items():
        notes = service["spec"]["template"]["metadata"]["annotations"]
        assert notes["dapr.io/config"] == cluster["metadata"]["name"], name


def test_subscriptions_name_routes_and_pubsub_the_cluster_defines() -> None:
    objects = build(KNATIVE / "base") + build(KNATIVE / "backends" / "pubsub" / "nats")
    components = {c["metadata"]["name"] for c in of_kind(objects, "Component")}
    for subscription in of_kind(objects, "Subscription"):
        assert subscription["spec"]["pubsubname"] in components
        assert subscription["spec"]["routes"]["default"].startswith("/events/")
