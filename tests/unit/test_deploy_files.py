"""The deployment files are valid: docker-compose.yml (validated by Debian's docker-compose, which
`make test` installs) and the shell scripts (bash -n)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from fapiao.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
APP_SECRETS = ("FAPIAO_SECRET_KEY", "FAPIAO_SM4_KEYS", "FAPIAO_HMAC_KEY", "FAPIAO_CLICKHOUSE_PASSWORD")


def _compose_config(env_file: Path, *options: str) -> subprocess.CompletedProcess[bytes]:
    """`docker-compose config -q` (or `config` with options such as `--profile cluster`)."""
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is missing: `make tools` installs it"
    command = [compose, "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env_file)]
    command += [*options, "config"] if options else ["config", "-q"]
    return subprocess.run(command, capture_output=True, env={"PATH": os.environ["PATH"]})


def test_docker_compose_file_is_valid_with_the_generated_secrets(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    subprocess.run([str(ROOT / "deploy/docker/secrets.sh"), str(env_file)], check=True, capture_output=True)
    first = env_file.read_text()
    subprocess.run([str(ROOT / "deploy/docker/secrets.sh"), str(env_file)], check=True, capture_output=True)
    assert env_file.read_text() == first  # a second run keeps every secret
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    done = _compose_config(env_file)
    assert done.returncode == 0, done.stderr.decode()


def test_docker_compose_refuses_to_start_without_real_secrets(tmp_path: Path) -> None:
    """Issue 16 item 4: compose kept the placeholder JWT secret (an analyst could forge an admin session)
    and development passwords; now every secret is mandatory and the app runs as production."""
    (tmp_path / "empty").write_text("")
    done = _compose_config(tmp_path / "empty")
    assert done.returncode != 0 and b"run deploy/docker/secrets.sh" in done.stderr
    text = (ROOT / "docker-compose.yml").read_text()
    assert "dev-password" not in text and "CLICKHOUSE_SKIP_USER_SETUP" not in text
    import yaml

    services = yaml.safe_load(text)["services"]
    for name in ("api", "worker", "migrate", "demo", "kafka-acls"):
        env = services[name]["environment"]
        assert env["FAPIAO_ENV"] == "production", name
        for secret in (
            "FAPIAO_SECRET_KEY",
            "FAPIAO_SM4_KEYS",
            "FAPIAO_HMAC_KEY",
            "FAPIAO_CLICKHOUSE_PASSWORD",
        ):
            assert ":?" in env[secret], (name, secret)
        assert "FAPIAO_DEV_EXPOSE_TOKENS" not in env, name


def test_the_image_runs_as_production_so_it_refuses_placeholder_secrets() -> None:
    dockerfile = (ROOT / "deploy/docker/Dockerfile").read_text()
    assert "FAPIAO_ENV=production" in dockerfile
    with pytest.raises(ValidationError, match="FAPIAO_SECRET_KEY must be set"):
        Settings(_env_file=None, env="production")  # what every `fapiao` command builds first
    real = {"secret_key": "x" * 40, "sm4_keys": "k1:" + "0" * 32, "hmac_key": "ab" * 32}
    assert Settings(_env_file=None, env="production", **real).env == "production"
    with pytest.raises(ValidationError, match="FAPIAO_DEV_EXPOSE_TOKENS"):
        Settings(_env_file=None, env="production", dev_expose_tokens=True, **real)


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
