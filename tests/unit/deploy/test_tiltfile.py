"""The Tiltfile without Tilt: it parses (Starlark is a subset of Python's grammar), calls only
documented Tilt functions, names paths that exist and objects the manifests define, and builds
and forwards each app of the run file on its port."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.unit.deploy.manifests import (
    KNATIVE,
    REPO,
    TILTFILE,
    build,
    knative_services,
    run_file_apps,
)

# The Tiltfile API reference (docs.tilt.dev/api.html): the functions a Tiltfile may call.
TILT_BUILTINS = {
    "allow_k8s_contexts", "analytics_settings", "blob", "ci_settings", "custom_build",
    "dc_resource", "decode_json", "decode_yaml", "decode_yaml_stream", "default_registry",
    "disable_snapshots", "docker_build", "docker_compose", "docker_prune_settings",
    "enable_feature", "encode_json", "encode_yaml", "encode_yaml_stream", "exec_action",
    "exit", "fail", "fall_back_on", "filter_yaml", "helm", "http_get_action", "include",
    "k8s_context", "k8s_custom_deploy", "k8s_kind", "k8s_namespace", "k8s_resource", "k8s_yaml",
    "kustomize", "link", "listdir", "load", "load_dynamic", "local", "local_resource",
    "port_forward", "probe", "read_file", "read_json", "read_yaml", "read_yaml_stream",
    "restart_container", "run", "secret_settings", "set_team", "struct", "sync",
    "tcp_socket_action", "trigger_mode", "update_settings", "version_settings", "warn",
    "watch_file", "watch_settings", "workload_to_resource_function",
}  # fmt: skip
TILT_MODULES = {
    "os": {"getcwd", "getenv", "putenv", "unsetenv"},
    "os.path": {"abspath", "basename", "dirname", "exists", "join", "realpath", "relpath"},
    "config": {
        "clear_enabled_resources", "define_bool", "define_string", "define_string_list",
        "parse", "set_enabled_resources",
    },
    "shlex": {"quote"},
}  # fmt: skip
STARLARK_BUILTINS = {
    "len", "str", "int", "list", "dict", "range", "sorted", "type", "print", "any", "all",
    "enumerate", "zip", "bool", "hasattr", "getattr", "min", "max", "reversed", "tuple",
}  # fmt: skip
# Functions of the documented extension the Tiltfile loads (tilt-extensions restart_process).
EXTENSIONS = {"ext://restart_process": {"docker_build_with_restart"}}

SOURCE = TILTFILE.read_text()
TREE = ast.parse(SOURCE, filename="Tiltfile")


def calls() -> list[ast.Call]:
    return [n for n in ast.walk(TREE) if isinstance(n, ast.Call)]


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return dotted(node.value) + "." + node.attr
    return ""


def string_args(function: str) -> list[ast.Call]:
    return [c for c in calls() if dotted(c.func) == function]


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def literal(node: ast.expr | None) -> object:
    assert node is not None
    return ast.literal_eval(node)


def test_tiltfile_uses_no_python_only_syntax() -> None:
    """Starlark has no classes, imports, while, try, with, lambdas or f-strings."""
    banned = (
        ast.ClassDef, ast.Import, ast.ImportFrom, ast.While, ast.Try, ast.With,
        ast.Lambda, ast.JoinedStr, ast.Global, ast.Nonlocal, ast.Yield, ast.AsyncFunctionDef,
    )  # fmt: skip
    found = [type(n).__name__ for n in ast.walk(TREE) if isinstance(n, banned)]
    assert not found, found


def test_tiltfile_calls_only_documented_tilt_functions() -> None:
    defined = {n.name for n in ast.walk(TREE) if isinstance(n, ast.FunctionDef)}
    loaded: set[str] = set()
    for call in string_args("load"):
        module = literal(call.args[0])
        names = {literal(a) for a in call.args[1:]}
        assert module in EXTENSIONS, module
        assert names <= EXTENSIONS[str(module)]
        loaded |= {str(n) for n in names}
    variables = {
        t.id
        for n in ast.walk(TREE)
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    unknown = []
    for call in calls():
        name = dotted(call.func)
        if isinstance(call.func, ast.Name):
            if name not in TILT_BUILTINS | STARLARK_BUILTINS | defined | loaded:
                unknown.append(name)
        elif isinstance(call.func, ast.Attribute):
            owner = dotted(call.func.value)
            if owner in TILT_MODULES:
                if call.func.attr not in TILT_MODULES[owner]:
                    unknown.append(name)
            # methods of values (dict.items, str.split …) are fine; anything else is not
            elif owner not in variables and not isinstance(call.func.value, ast.Constant):
                unknown.append(name)
    assert not unknown, unknown


def path_literals() -> set[str]:
    """String literals that look like repository paths (a slash or a known top-level name)."""
    top = {p.name for p in REPO.iterdir()}
    found = set()
    for node in ast.walk(TREE):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if re.fullmatch(r"[\w.\-/]+", text) and (text.split("/")[0] in top) and text != ".":
                found.add(text)
    return found


def test_tiltfile_path_literals_exist() -> None:
    paths = path_literals()
    assert "deploy/Dockerfile" in paths
    missing = sorted(p for p in paths if not (REPO / p).exists())
    assert not missing, missing


def test_tiltfile_builds_every_app_with_its_module_and_syncs_existing_sources() -> None:
    apps_node = next(
        n.value
        for n in ast.walk(TREE)
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "APPS" for t in n.targets)
    )
    apps = literal(apps_node)
    assert isinstance(apps, dict)
    run_apps = run_file_apps()
    assert set(apps) == set(run_apps) == set(knative_services())
    for app, (module, port) in apps.items():
        assert run_apps[app]["command"] == ["python", "-m", module]
        assert run_apps[app]["appPort"] == port
        assert (REPO / "apps" / app / "src" / module / "__main__.py").is_file()
    # sync() targets mirror the image layout of deploy/Dockerfile (/app/<repo path>)
    for call in string_args("sync"):
        remote = call.args[1]
        assert isinstance(remote, ast.BinOp | ast.Constant)
    assert "'/app/apps/' + app + '/src'" in SOURCE
    assert "sync('libs/trader-common/src', '/app/libs/trader-common/src')" in SOURCE


def test_tiltfile_forwards_each_app_port_and_names_existing_workloads() -> None:
    workloads = set(knative_services()) | {
        o["metadata"]["name"] for o in build(KNATIVE / "base") if o["kind"] == "CronJob"
    }
    forwarded = {}
    for call in string_args("k8s_resource"):
        if call.args:
            name = literal(call.args[0])
            assert name in workloads, name
            forwards = keyword(call, "port_forwards")
            if forwards is not None:
                for item in forwards.elts:  # type: ignore[attr-defined]
                    forwarded[name] = (literal(item.args[0]), literal(item.args[1]))
    for app, spec in run_file_apps().items():
        assert forwarded[app] == (spec["appPort"], spec["appPort"]), app


def test_tiltfile_platform_objects_exist_in_every_backend_choice() -> None:
    (platform,) = [c for c in string_args("k8s_resource") if keyword(c, "new_name") is not None]
    selectors = literal(keyword(platform, "objects"))
    assert isinstance(selectors, list)
    for pubsub in ("nats", "kafka", "redis"):
        for state in ("redis", "postgres"):
            objects = (
                build(KNATIVE / "base")
                + build(KNATIVE / "backends" / "pubsub" / pubsub)
                + build(KNATIVE / "backends" / "state" / state)
            )
            present = {(o["metadata"]["name"], o["kind"].lower()) for o in objects}
            for selector in selectors:
                name, kind = str(selector).split(":")[:2]
                assert (name, kind) in present, (selector, pubsub, state)
    # and every other object Tilt applies is grouped, so none lands in Tilt's "uncategorized";
    # the Namespace is filtered out (setup.sh owns it: `tilt down` must not delete the servers)
    assert "filter_yaml(kustomize('knative/base'), kind='Namespace')" in SOURCE
    not_grouped = {"Service", "CronJob", "Namespace"}
    grouped = {tuple(str(s).split(":")[:2]) for s in selectors}
    assert ("trader", "namespace") not in grouped
    for obj in build(KNATIVE / "base"):
        if obj["kind"] not in not_grouped:
            assert (obj["metadata"]["name"], obj["kind"].lower()) in grouped, obj["metadata"]


@pytest.mark.parametrize("choice", ["pubsub", "state"])
def test_tiltfile_backend_choices_are_existing_folders(choice: str) -> None:
    allowed = re.search(rf"if {choice.upper()} not in (\[[^\]]*\])", SOURCE)
    assert allowed is not None
    values = literal(ast.parse(allowed.group(1), mode="eval").body)
    assert isinstance(values, list)
    folders = sorted(p.name for p in (KNATIVE / "backends" / choice).iterdir() if p.is_dir())
    assert sorted(values) == folders
    assert all(
        (Path(KNATIVE / "backends" / choice / v / "kustomization.yaml")).is_file() for v in values
    )
