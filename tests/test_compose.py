"""compose.yaml runs real entry points of this project (no Docker engine is needed to check)."""

import importlib
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def _import(target: str) -> object:
    """``package.module:attribute`` or ``package.module.attribute``."""
    module, attribute = target.split(":") if ":" in target else target.rsplit(".", 1)
    return getattr(importlib.import_module(module), attribute)


def _check_command(command: list[str]) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    program, *args = command
    if program in scripts:
        entry = _import(scripts[program])
        assert callable(entry)
        if program == "streampools":
            from app.cli import main

            # The sub-command exists (argparse exits 2 on an unknown one).
            assert args[0] in {"run", "web", "integrations", "migrate", "seed", "ledger"}
            assert entry is main
    elif program == "uvicorn":
        target = args[args.index("--factory") + 1] if "--factory" in args else args[0]
        assert callable(_import(target))
    elif program == "arq":
        settings = _import(args[0])
        assert getattr(settings, "functions", None)
    else:
        raise AssertionError(f"{program} is not an entry point of this project")


def test_project_services_run_real_entry_points() -> None:
    services = _compose()["services"]
    built = {name: spec for name, spec in services.items() if "build" in spec}
    assert set(built) == {"migrate", "web", "worker", "integrations"}
    for spec in built.values():
        _check_command(spec["command"])


def test_servers_are_the_official_images_with_health_checks() -> None:
    services = _compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in services[name], name


def test_web_and_workers_wait_for_the_migration() -> None:
    services = _compose()["services"]
    for name in ("web", "worker", "integrations"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_worker_metrics_stay_on_the_compose_network_behind_the_token() -> None:
    from app.settings import Settings

    services = _compose()["services"]
    worker = services["worker"]
    for name, setting in (
        ("worker", "STREAMPOOLS_WORKER_METRICS_PORT"),
        ("integrations", "STREAMPOOLS_INTEGRATIONS_METRICS_PORT"),
    ):
        service = services[name]
        port = int(service["environment"][setting])
        assert str(port) in service.get("expose", [])
        assert "ports" not in service  # not published on the host (and replicas may scale)
    for name in ("web", "worker", "integrations"):
        assert services[name]["environment"]["STREAMPOOLS_METRICS_TOKEN"].startswith(
            "${STREAMPOOLS_METRICS_TOKEN"
        )
    # The same environment otherwise: production, and so metrics only with the token.
    assert worker["environment"]["STREAMPOOLS_ENV"] == "production"
    assert Settings(env="production", metrics_port=0).public_metrics is False
