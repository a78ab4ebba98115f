"""The deployment files are valid: docker-compose.yml (validated by Debian's docker-compose, which
`make test` installs) and the shell scripts (bash -n)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_file_is_valid() -> None:
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is missing: `make tools` installs it"
    command = [compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"]
    done = subprocess.run(command, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


def test_docker_compose_runs_the_same_stack() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for needle in ("apache/kafka:", "clickhouse/clickhouse-server", "healthcheck", "fapiao", "worker", "api"):
        assert needle in text


@pytest.mark.parametrize("script", sorted((ROOT / "deploy" / "local").glob("*.sh")), ids=lambda p: p.name)
def test_shell_scripts_parse(script: Path) -> None:
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


def test_docker_compose_keeps_accounts_on_postgresql() -> None:
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    for name in ("api", "migrate"):
        assert services[name]["environment"]["FAPIAO_ACCOUNTS_URL"].startswith("postgresql+psycopg://"), name
    assert "fapiao accounts migrate" in " ".join(services["migrate"]["entrypoint"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
