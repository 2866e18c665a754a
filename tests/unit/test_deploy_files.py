"""The deployment files (``infra/entrypoints/deploy``), checked without containers and without a
network.

Images cannot be built here, so every file is linted and everything it names is checked
against the code: hadolint on the Containerfiles, the compose specification's JSON schema
(vendored by check-jsonschema) on ``compose.yaml``, Kubernetes' own schemas (vendored by
kubernetes-validate, strict) on ``k8s/``; then, for each file, that the commands it runs are
``vangnet`` commands the CLI accepts, that the variables it sets are settings (and together
make valid settings), that its health checks ask for real health routes on the right ports,
and that the checkpoint directory is on a volume wherever checkpoints are written.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import jsonschema
import kubernetes_validate
import pytest
import yaml

from infra.config.settings import SETTING_NAMES, Settings
from infra.entrypoints.cli import resolve
from infra.entrypoints.web.auth.routes import CALLBACK_PATH
from infra.entrypoints.web.health import HEALTH_ROUTES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "infra" / "entrypoints" / "deploy"
K8S = DEPLOY / "k8s"
K8S_VERSION = "1.31.0"
HEALTH_PATHS = {path for handler in HEALTH_ROUTES for path in handler.paths}
WORKER_HEALTH_PATHS = {"/health/live", "/health/ready"}  # infra.entrypoints.worker.health
#: Variables a deployment may set that are not Vangnet settings, and why.
NOT_SETTINGS = {
    "PROMETHEUS_MULTIPROC_DIR"
}  # prometheus_client's (infra/config/settings.py notes it)
KEY = base64.b64encode(bytes(range(32))).decode()


def _bin(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed (the dev dependencies of pyproject.toml)"
    return found


def _is_setting(name: str) -> bool:
    return name in SETTING_NAMES or name in NOT_SETTINGS or name.startswith("VANGNET_IDP_SECRET_")


def _cli_accepts(args: list[str]) -> None:
    """The CLI parses ``args`` (an unknown command or option exits 2)."""
    command = resolve(args)
    assert not isinstance(command, click.Group), args  # a command, not a group's help


def _probe_url(test: list[str]) -> str:
    assert test[:4] == ["CMD", "python", "-m", "infra.entrypoints.deploy.probe"] or test[:3] == [
        "python",
        "-m",
        "infra.entrypoints.deploy.probe",
    ], test
    return test[-1]


def _valid_settings(env: dict[str, str], tmp_path: Path) -> Settings:
    filled = {k: v for k, v in env.items() if v and "CHANGE-ME" not in v}
    filled.setdefault("DATABASE_URL", "postgresql://vangnet:x@postgres:5432/vangnet")
    filled["VANGNET_MASTER_KEY"] = KEY
    filled.pop("VANGNET_SECRET_KEY", None)
    filled.pop("VANGNET_METRICS_TOKEN", None)
    filled["VANGNET_DATA_DIR"] = str(tmp_path)
    return Settings.from_env(filled)


# --- Containerfiles -----------------------------------------------------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


@pytest.mark.parametrize("name", ["Containerfile", "idp/Containerfile"])
def test_containerfiles_pass_hadolint(name: str) -> None:
    done = subprocess.run(
        [_bin("hadolint"), "--no-color", "--failure-threshold", "style", str(DEPLOY / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_does_find_problems(tmp_path: Path) -> None:
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM python:latest\nRUN pip install uv\nCMD vangnet serve\n")
    done = subprocess.run(
        [_bin("hadolint"), "--no-color", str(bad)], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert {"DL3007", "DL3013", "DL3025"} <= set(re.findall(r"DL\d{4}", done.stdout))


def test_the_image_runs_the_locked_app_as_a_non_root_user() -> None:
    steps = instructions(DEPLOY / "Containerfile")
    args = {word: [a for w, a in steps if w == word] for word, _ in steps}
    final = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM") :]
    # A slim Python of the project's version.
    python = re.search(r'requires-python = ">=(\d+\.\d+)', (ROOT / "pyproject.toml").read_text())
    assert python is not None
    assert f"ARG PYTHON_IMAGE=python:{python.group(1)}-slim-bookworm" in [
        f"ARG {a}" for a in args["ARG"]
    ]
    # The lock file's dependencies, no dev tools; uv of the Makefile's version.
    uv_version = re.search(r"UV_VERSION := (\S+)", (ROOT / "Makefile").read_text())
    assert uv_version is not None
    assert f"pip install --no-cache-dir uv=={uv_version.group(1)}" in args["RUN"]
    assert sum("uv sync --frozen --no-dev" in a for a in args["RUN"]) == 2
    for copied in (a.split()[:-1] for a in args["COPY"] if not a.startswith("--from")):
        for source in copied:
            assert (ROOT / source).exists(), source
    # The final stage runs as the numeric user it created, never root.
    users = [a for w, a in final if w == "USER"]
    assert users == ["10001:10001"]
    assert any("useradd --system --uid 10001" in a for w, a in final if w == "RUN")
    # Its environment is made of settings; the checkpoint directory is a volume.
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(a for w, a in final if w == "ENV")))
    assert all(_is_setting(k) for k in env if k.startswith("VANGNET_")), env
    assert json.loads(next(a for w, a in final if w == "VOLUME")) == [env["VANGNET_CHECKPOINT_DIR"]]
    # `vangnet` with a real command, and a health check on a real route of that port.
    assert json.loads(args["ENTRYPOINT"][0]) == ["vangnet"]
    assert "vangnet" in (ROOT / "pyproject.toml").read_text().split("[project.scripts]")[1]
    _cli_accepts(json.loads(args["CMD"][-1]))
    health = json.loads(args["HEALTHCHECK"][0].split(" CMD ", 1)[1])
    url = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/\S+)", _probe_url(health))
    assert url is not None
    assert (url.group(1), url.group(2)) == (env["VANGNET_PORT"], "/health/live")
    assert url.group(2) in HEALTH_PATHS


def test_the_staging_idp_image_is_the_test_idp() -> None:
    steps = instructions(DEPLOY / "idp" / "Containerfile")
    for word, arg in steps:
        if word == "COPY":
            for source in arg.split()[:-1]:
                assert (ROOT / source).is_file(), source
    server = (ROOT / "tests" / "e2e" / "idp" / "server.mjs").read_text()
    # The variables the image sets are the ones the server reads.
    for name in ("IDP_HOST", "IDP_PORT", "IDP_ISSUER"):
        assert f"process.env.{name}" in server


# --- compose ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_every_variable_the_settings_read_is_a_named_setting() -> None:
    """``SETTING_NAMES`` is what the checks here (and the secret-reference policy) rely on."""
    source = (ROOT / "infra" / "config" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.get)?\(\s*"([A-Z_]+)"', source))
    read |= set(re.findall(r'_(?:positive_int|non_negative_int|flag)\(env, "([A-Z_]+)"', source))
    assert len(read) > 30
    assert read - SETTING_NAMES == NOT_SETTINGS


def _compose_schema() -> dict[str, Any]:
    import check_jsonschema

    path = Path(check_jsonschema.__file__).parent / "builtin_schemas/vendor/compose-spec.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = _compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert [e.message for e in validator.iter_errors(compose)] == []
    # The schema does catch mistakes.
    broken = copy.deepcopy(compose)
    broken["services"]["web1"]["helthcheck"] = broken["services"]["web1"].pop("healthcheck")
    assert list(validator.iter_errors(broken))


def _env_file(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}


VANGNET_SERVICES = ("migrate", "web1", "web2", "worker")


def test_compose_runs_the_whole_topology(compose: dict[str, Any], tmp_path: Path) -> None:
    services = compose["services"]
    assert set(services) == {
        "postgres",
        "rabbitmq",
        "migrate",
        "web1",
        "web2",
        "worker",
        "proxy",
        "idp",
    }
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["idp"]["profiles"] == ["staging"]
    checkpoint_dir = "/var/lib/vangnet/checkpoints"  # the image's VANGNET_CHECKPOINT_DIR
    app_env = _env_file(DEPLOY / "vangnet.env.example")
    assert all(_is_setting(k) for k in app_env), sorted(k for k in app_env if not _is_setting(k))
    for name in VANGNET_SERVICES:
        service = services[name]
        _cli_accepts(service["command"])
        assert service["env_file"] == ["vangnet.env"]
        env = {k: str(v) for k, v in service["environment"].items()}
        assert all(_is_setting(k) for k in env), (name, env)
        # With the example's values, these are valid settings.
        _valid_settings({**app_env, **env}, tmp_path)
        assert f"checkpoints:{checkpoint_dir}" in service["volumes"], name
    # Web and worker only after the migration; their probes ask real routes on their ports.
    for name in ("web1", "web2"):
        web = services[name]
        assert web["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        url = re.fullmatch(
            r"http://127\.0\.0\.1:(\d+)(/\S+)", _probe_url(web["healthcheck"]["test"])
        )
        assert url is not None
        assert url.group(1) == web["environment"]["VANGNET_PORT"]
        assert url.group(2) in HEALTH_PATHS
        assert web["command"] == ["serve", "--workers", web["environment"]["VANGNET_WEB_WORKERS"]]
        # Only the proxy's address may set the forwarded headers.
        assert (
            web["environment"]["VANGNET_TRUSTED_PROXIES"]
            == (services["proxy"]["networks"]["backend"]["ipv4_address"])
        )
    worker = services["worker"]
    url = re.fullmatch(
        r"http://127\.0\.0\.1:(\d+)(/\S+)", _probe_url(worker["healthcheck"]["test"])
    )
    assert url is not None
    assert url.group(1) == worker["environment"]["VANGNET_WORKER_HEALTH_PORT"]
    assert url.group(2) in WORKER_HEALTH_PATHS


def test_the_proxy_config_names_the_web_processes(compose: dict[str, Any]) -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy ((?:\S+:\d+ )+)\{", caddyfile)
    assert upstreams is not None
    ports = {compose["services"][n]["environment"]["VANGNET_PORT"] for n in ("web1", "web2")}
    assert upstreams.group(1).split() == [f"web1:{p}" for p in ports] + [f"web2:{p}" for p in ports]
    health = re.search(r"health_uri (\S+)", caddyfile)
    assert health is not None
    assert health.group(1) in HEALTH_PATHS
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in compose["services"]["proxy"]["volumes"]
    idp_port = re.search(r"IDP_PORT=(\d+)", (DEPLOY / "idp" / "Containerfile").read_text())
    assert idp_port is not None
    assert f"reverse_proxy idp:{idp_port.group(1)}" in caddyfile


def test_the_staging_idp_config_is_valid(compose: dict[str, Any]) -> None:
    content = compose["configs"]["idp_config"]["content"]
    filled = re.sub(r"\$\{(\w+):-[^}]*\}", lambda m: f"<{m.group(1)}>", content)
    config = json.loads(filled)
    (client,) = config["clients"]
    assert client["redirect_uris"] == [f"https://<VANGNET_SITE>{CALLBACK_PATH}"]
    assert {u["groups"][0] for u in config["users"]} >= {
        "vangnet-contact_person",
        "vangnet-operators",
    }


# --- Kubernetes -----------------------------------------------------------------------------------


def k8s_resources() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path.name, doc


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {
        d.get("metadata", {}).get("name", kind): d for _, d in k8s_resources() if d["kind"] == kind
    }


def test_manifests_match_the_kubernetes_schemas() -> None:
    checked = 0
    for _name, resource in k8s_resources():
        if resource["kind"] == "Kustomization":
            continue
        kubernetes_validate.validate(resource, K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 12
    # Strict validation does catch mistakes.
    broken = copy.deepcopy(by_kind("Deployment")["vangnet-web"])
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    (kustomization,) = by_kind("Kustomization").values()
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert set(kustomization["resources"]) == files
    images = {i["name"] for i in kustomization["images"]}
    for workload in [*by_kind("Deployment").values(), *by_kind("Job").values()]:
        for container in workload["spec"]["template"]["spec"]["containers"]:
            assert container["image"] in images


def _containers() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for workload in [*by_kind("Deployment").values(), *by_kind("Job").values()]:
        pod = workload["spec"]["template"]["spec"]
        for container in pod["containers"]:
            yield workload["metadata"]["name"], pod, container


def test_workloads_run_vangnet_commands_safely_with_valid_settings(tmp_path: Path) -> None:
    config = by_kind("ConfigMap")["vangnet-settings"]["data"]
    secret = by_kind("Secret")["vangnet-secrets"]["stringData"]
    assert [k for k in [*config, *secret] if not _is_setting(k)] == []
    settings = _valid_settings({**config, **secret}, tmp_path)
    assert settings.web_workers >= 2
    checkpoint_dir = config["VANGNET_CHECKPOINT_DIR"]
    commands = set()
    for name, pod, container in _containers():
        _cli_accepts(container["args"])
        commands.add(container["args"][0])
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["resources"]["requests"]["cpu"]
        assert container["resources"]["requests"]["memory"]
        assert {
            e.get("configMapRef", e.get("secretRef"))["name"] for e in container["envFrom"]
        } == {
            "vangnet-settings",
            "vangnet-secrets",
        }
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert mounts["checkpoints"] == checkpoint_dir, name
        assert volumes["checkpoints"]["persistentVolumeClaim"]["claimName"] in by_kind(
            "PersistentVolumeClaim"
        )
        assert mounts["tmp"] == "/tmp"
    assert commands == {"serve", "worker", "migrate"}


def test_probes_ask_real_health_routes_on_the_right_ports() -> None:
    config = by_kind("ConfigMap")["vangnet-settings"]["data"]
    deployments = by_kind("Deployment")
    expected = {
        "vangnet-web": (config["VANGNET_PORT"], HEALTH_PATHS),
        "vangnet-worker": (config["VANGNET_WORKER_HEALTH_PORT"], WORKER_HEALTH_PATHS),
    }
    for name, (port, paths) in expected.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: str(p["containerPort"]) for p in container["ports"]}
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            get = container[probe]["httpGet"]
            assert get["path"] in paths
            assert ports[get["port"]] == port, (name, probe)
    # Web pods: the metrics directory is an emptyDir of their own (writable, empty at start).
    web = deployments["vangnet-web"]["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in web["containers"][0]["env"]}
    mounts = {m["mountPath"]: m["name"] for m in web["containers"][0]["volumeMounts"]}
    volume = {v["name"]: v for v in web["volumes"]}[mounts[env["PROMETHEUS_MULTIPROC_DIR"]]]
    assert "emptyDir" in volume
    # Nobody else gets it: elsewhere the root file system is read-only, and metric files
    # could not be written.
    assert "PROMETHEUS_MULTIPROC_DIR" not in config
    for name, _pod, container in _containers():
        if name != "vangnet-web":
            assert "PROMETHEUS_MULTIPROC_DIR" not in {e["name"] for e in container.get("env", [])}
    # Zero downtime: never fewer ready web pods than wanted during a rollout.
    assert deployments["vangnet-web"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_disruption_budgets_cover_web_and_worker() -> None:
    deployments = by_kind("Deployment")
    covered = set()
    for pdb in by_kind("PodDisruptionBudget").values():
        selector = pdb["spec"]["selector"]["matchLabels"]
        assert pdb["spec"]["minAvailable"] >= 1
        for name, deployment in deployments.items():
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            if selector.items() <= labels.items():
                covered.add(name)
                assert deployment["spec"]["replicas"] > pdb["spec"]["minAvailable"]
    assert covered == set(deployments)
    job = by_kind("Job")["vangnet-migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
