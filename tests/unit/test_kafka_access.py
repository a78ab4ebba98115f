"""Kafka client security settings and the per-service ACLs (pure parts; the broker test is
tests/integration/test_kafka_sasl.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import faust
import pytest
import yaml
from pydantic import SecretStr, ValidationError

from fapiao import topics
from fapiao.kafka_acls import USERS, AclBinding, Operation, Pattern, Resource, bindings, render
from fapiao.kafka_auth import client_kwargs, faust_credentials
from fapiao.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCE = {Operation.WRITE, Operation.DESCRIBE}
CONSUME = {Operation.READ, Operation.DESCRIBE}


def _sasl(**extra: object) -> Settings:
    fields: dict[str, object] = {
        "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_username": "api",
        "kafka_password": SecretStr("s3cret"),
        **extra,
    }
    return Settings(**fields)  # type: ignore[arg-type]


def test_plaintext_clients_get_only_the_bootstrap_servers() -> None:
    settings = Settings(kafka_bootstrap="10.0.0.1:9092")
    assert client_kwargs(settings) == {"bootstrap_servers": "10.0.0.1:9092", "metadata_max_age_ms": 5_000}
    assert faust_credentials(settings) is None


def test_sasl_clients_log_in_with_scram() -> None:
    kwargs = client_kwargs(_sasl(kafka_sasl_mechanism="SCRAM-SHA-256"))
    assert kwargs["security_protocol"] == "SASL_PLAINTEXT"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("api", "s3cret")
    assert "ssl_context" not in kwargs
    creds = faust_credentials(_sasl())
    assert isinstance(creds, faust.SASLCredentials)
    assert (creds.username, creds.password, creds.mechanism.value) == ("api", "s3cret", "SCRAM-SHA-512")
    assert creds.protocol.value == "SASL_PLAINTEXT"


def test_sasl_ssl_verifies_the_broker() -> None:
    settings = _sasl(kafka_security_protocol="SASL_SSL")
    assert client_kwargs(settings)["ssl_context"].verify_mode.name == "CERT_REQUIRED"
    creds = faust_credentials(settings)
    assert creds is not None and creds.protocol.value == "SASL_SSL"


def test_sasl_without_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="FAPIAO_KAFKA_PASSWORD"):
        Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_username="api")


def _ops(acls: list[AclBinding], user: str, resource: Resource, name: str) -> set[Operation]:
    return {
        a.operation
        for a in acls
        if a.principal == f"User:{user}" and a.resource == resource and a.name == name
    }


def test_each_service_gets_only_its_own_topics() -> None:
    settings = Settings(topic_prefix="p-", app_id="sentinel")
    acls = bindings(settings)
    topic = settings.topic
    assert _ops(acls, "api", Resource.TOPIC, topic("checks.requested")) == PRODUCE
    assert _ops(acls, "api", Resource.TOPIC, topic("checks.results")) == CONSUME
    assert not _ops(acls, "api", Resource.TOPIC, topic("invoices.issued"))
    assert _ops(acls, "enterprise", Resource.TOPIC, topic("invoices.issued")) == PRODUCE
    assert not _ops(acls, "enterprise", Resource.TOPIC, topic("checks.results"))
    assert not _ops(acls, "enterprise", Resource.TOPIC, topic("checks.requested"))
    assert _ops(acls, "demo", Resource.GROUP, "p-sentinel") == {Operation.DESCRIBE}
    # the worker reads the register feed and check requests but cannot forge them
    for name in ("invoices.issued", "invoices.status", "checks.requested", "risk.rules"):
        assert Operation.WRITE not in _ops(acls, "worker", Resource.TOPIC, topic(name))
        assert Operation.READ in _ops(acls, "worker", Resource.TOPIC, topic(name))
    assert Operation.WRITE in _ops(acls, "worker", Resource.TOPIC, topic("checks.results"))
    assert _ops(acls, "worker", Resource.GROUP, "p-sentinel") == CONSUME
    assert _ops(acls, "worker", Resource.GROUP, "p-sentinel-sink") == CONSUME  # its ClickHouse sink
    internal = [a for a in acls if a.principal == "User:worker" and a.pattern == Pattern.PREFIXED]
    assert {a.name for a in internal} == {"p-sentinel-"}
    assert _ops(acls, "analyst", Resource.TOPIC, topic("risk.alerts")) == CONSUME
    assert _ops(acls, "analyst", Resource.GROUP, "p-analyst-") == CONSUME
    assert {a.principal for a in acls} == {f"User:{u}" for u in USERS if u != "admin"}
    assert all(a.name.startswith("p-") for a in acls)
    assert len(acls) == len(set(acls)) and acls == sorted(acls)


def test_every_topic_has_a_writer_and_a_reader() -> None:
    acls = bindings(Settings())
    for spec in topics.ALL:
        ops = {a.operation for a in acls if a.resource == Resource.TOPIC and a.name == spec.name}
        assert {Operation.READ, Operation.WRITE} <= ops, spec.name


def test_render_lists_every_binding() -> None:
    acls = bindings(Settings())
    text = render(acls)
    assert len(text.splitlines()) == len(acls) + 1
    assert "User:enterprise  WRITE            TOPIC   literal  invoices.issued" in text


def test_the_broker_script_creates_a_scram_user_per_principal() -> None:
    script = ROOT / "deploy" / "kafka" / "sasl-broker.sh"
    users = subprocess.run([str(script), "users"], capture_output=True, text=True, check=True).stdout.split()
    assert tuple(users) == USERS


def test_docker_compose_runs_the_sasl_broker_with_a_login_per_service() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    kafka_env = services["kafka"]["environment"]
    assert {f"KAFKA_SCRAM_PASSWORD_{u.upper()}" for u in USERS} <= set(kafka_env)
    assert "sasl-broker.sh" in " ".join(services["kafka"]["command"])
    assert "kafka acls --apply" in " ".join(services["kafka-acls"]["entrypoint"])
    for name, user in (("api", "api"), ("worker", "worker"), ("demo", "demo")):
        env = services[name]["environment"]
        assert env["FAPIAO_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT", name
        assert env["FAPIAO_KAFKA_USERNAME"] == user, name
        assert env["FAPIAO_KAFKA_PASSWORD"], name
