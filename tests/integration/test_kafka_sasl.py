"""Kafka with SASL/SCRAM logins and per-service ACLs (fapiao/kafka_acls.py), on a private broker.

`deploy/local/kafka.sh` with KAFKA_SASL=1 starts a second broker on free ports and its own folder (the
plaintext broker on 9092 is left alone), formats it with one SCRAM user per service and applies the
ACLs; everything below goes through our own client code (fapiao.bus, the API's TopicFollower, the
Faust worker) with each service's own credentials.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError
from pydantic import SecretStr

from fapiao import topics
from fapiao.bus import Publisher, broker_reachable, ensure_topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.kafka_auth import client_kwargs
from fapiao.kafka_intake import intake_topic, parse_intake_map
from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from schemas.events import CheckResult
from services.api.results_feed import TopicFollower
from tests.factories import check_of, issued
from tests.integration.conftest import _env
from tests.integration.processes import ROOT, cli_process, free_port, wait_for_line

SCRIPT = ROOT / "deploy" / "local" / "kafka.sh"


def _script(env: dict[str, str], command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def sasl_settings(settings: Settings) -> Settings:
    """The session's settings with their own topic prefix and app id, on the SASL broker (as nobody yet)."""
    return settings.model_copy(
        update={"topic_prefix": f"{settings.topic_prefix}sasl-", "app_id": "fapiao-sasl"}
    )


@pytest.fixture(scope="module")
def broker(sasl_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Start the SASL broker; yields the SCRAM passwords by user. Stopped and deleted afterwards."""
    state = tmp_path_factory.mktemp("kafka-sasl")
    port = free_port()
    env = dict(
        os.environ,
        KAFKA_SASL="1",
        KAFKA_DIR=str(state),
        KAFKA_PORT=str(port),
        KAFKA_CONTROLLER_PORT=str(free_port()),
        FAPIAO_TOPIC_PREFIX=sasl_settings.topic_prefix,
        FAPIAO_APP_ID=sasl_settings.app_id,
        FAPIAO_PYTHON=sys.executable,  # applies the ACLs with this checkout's code
        # the session worker's intake principal, and `enterprise` as an organisation's own system
        FAPIAO_KAFKA_INTAKE=f"{sasl_settings.kafka_intake},enterprise=org-enterprise-sasl",
    )
    started = _script(env, "start")
    try:
        assert started.returncode == 0, f"kafka.sh start failed:\n{started.stderr[-4000:]}"
        users = dict(line.split("=", 1) for line in (state / "users.env").read_text().split())
        yield {"bootstrap": f"127.0.0.1:{port}", **users}
    finally:
        stopped = _script(env, "stop")
        shutil.rmtree(state, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr


def _as(settings: Settings, broker: dict[str, str], user: str, password: str | None = None) -> Settings:
    return settings.model_copy(
        update={
            "kafka_bootstrap": broker["bootstrap"],
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_username": user,
            "kafka_password": SecretStr(broker[user] if password is None else password),
        }
    )


def _worker_env(settings: Settings) -> dict[str, str]:
    env = _env(settings)
    env.update(
        FAPIAO_APP_ID=settings.app_id,
        FAPIAO_KAFKA_SECURITY_PROTOCOL=settings.kafka_security_protocol,
        FAPIAO_KAFKA_SASL_MECHANISM=settings.kafka_sasl_mechanism,
        FAPIAO_KAFKA_USERNAME=settings.kafka_username,
        FAPIAO_KAFKA_PASSWORD=settings.kafka_password.get_secret_value(),
    )
    return env


async def _consume_one(settings: Settings, topic: str, group: str | None) -> None:
    consumer = AIOKafkaConsumer(
        settings.topic(topic), **client_kwargs(settings), group_id=group, auto_offset_reset="earliest"
    )
    try:
        await consumer.start()
        await consumer.getmany(timeout_ms=3000)
    finally:
        await consumer.stop()


async def test_services_log_in_as_their_own_principals_and_acls_hold(
    broker: dict[str, str], sasl_settings: Settings, engine: NativeEngine, tmp_path: Path
) -> None:
    admin, api = _as(sasl_settings, broker, "admin"), _as(sasl_settings, broker, "api")
    enterprise, analyst = _as(sasl_settings, broker, "enterprise"), _as(sasl_settings, broker, "analyst")
    worker = _as(sasl_settings, broker, "worker")
    assert len(await ensure_topics(admin)) == len(topics.ALL) + len(parse_intake_map(admin.kafka_intake))

    # A wrong password does not get in (and the right one does).
    assert await broker_reachable(api)
    assert not await broker_reachable(_as(sasl_settings, broker, "api", password=broker["api"] + "x"), 5)
    intruder = Publisher(_as(sasl_settings, broker, "api", password="not-the-password"))
    with pytest.raises(KafkaError):
        await asyncio.wait_for(intruder.start(), 20)
    await intruder.stop()

    # Without an ACL: the API may not forge register events, the analyst may not read results nor use
    # a consumer group outside its prefix.
    publisher = Publisher(api)
    await publisher.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await publisher.publish(topics.INVOICES_ISSUED, "k", issued(number="30000001"))
    finally:
        await publisher.stop()
    with pytest.raises(TopicAuthorizationFailedError):
        await _consume_one(analyst, topics.CHECKS_RESULTS.name, None)
    with pytest.raises(GroupAuthorizationFailedError):
        await _consume_one(analyst, topics.RISK_ALERTS.name, "someone-elses-group")
    await _consume_one(analyst, topics.RISK_ALERTS.name, f"{analyst.topic_prefix}analyst-desk")

    # With them: the worker (Faust, as `worker`) folds an invoice published by `enterprise` and answers a
    # check the API published, which the API's own follower receives.
    log = tmp_path / "worker.log"
    with cli_process(["worker"], _worker_env(worker), log) as proc:
        wait_for_line(proc, log, "Worker ready", 60)
        invoice = issued(number="30000002")
        key = invoice_key(invoice.invoice_code, invoice.invoice_number)
        feed = Publisher(enterprise)
        await feed.start()
        try:
            await feed.publish(topics.INVOICES_ISSUED, key, invoice)
        finally:
            await feed.stop()

        results: list[CheckResult] = []
        topic = api.topic(topics.CHECKS_RESULTS.name)
        follower = TopicFollower(api, topic, CheckResult, lambda result, raw: results.append(result))
        await follower.start()
        publisher = Publisher(api)
        await publisher.start()
        try:
            request = check_of(invoice)
            await publisher.publish(topics.CHECKS_REQUESTED, key, request)
            for _ in range(300):
                if any(r.check_id == request.check_id for r in results):
                    break
                await asyncio.sleep(0.1)
        finally:
            await publisher.stop()
            await follower.stop()
        mine = [r for r in results if r.check_id == request.check_id]
        assert mine, f"no result within 30 s; worker log:\n{log.read_text(errors='replace')[-4000:]}"
        assert mine[-1].verdict == "consistent"
    assert "TopicAuthorizationFailed" not in log.read_text(errors="replace")


async def test_an_organisations_system_writes_only_its_own_intake_topic(
    broker: dict[str, str], sasl_settings: Settings
) -> None:
    """Issue 16 item 7: a Kafka client could write checks.requested with any org_id. Now an
    organisation's principal writes only checks.intake.<principal> (the worker's forwarder stamps the
    organisation, test_kafka_intake.py); checks.requested and other principals' intake topics refuse it."""
    admin = _as(sasl_settings, broker, "admin")
    mine = sasl_settings.topic(intake_topic("enterprise"))
    theirs = sasl_settings.topic(intake_topic("erp-intake"))
    client = AIOKafkaAdminClient(**client_kwargs(admin))
    await client.start()
    try:
        existing = set(await client.list_topics())
        await client.create_topics(
            [NewTopic(t, num_partitions=1, replication_factor=1) for t in (mine, theirs) if t not in existing]
        )
    finally:
        await client.close()
    for user, topic, allowed in (
        ("enterprise", mine, True),
        ("enterprise", sasl_settings.topic(topics.CHECKS_REQUESTED.name), False),
        ("enterprise", theirs, False),
        ("api", mine, False),
    ):
        producer = AIOKafkaProducer(**client_kwargs(_as(sasl_settings, broker, user)))
        await producer.start()
        try:
            if allowed:
                await asyncio.wait_for(producer.send_and_wait(topic, b"{}", key=b"k"), 20)
            else:
                with pytest.raises(TopicAuthorizationFailedError):
                    await asyncio.wait_for(producer.send_and_wait(topic, b"{}", key=b"k"), 20)
        finally:
            await producer.stop()
