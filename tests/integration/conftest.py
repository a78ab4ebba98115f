"""Fixtures that talk to the real Kafka broker and ClickHouse server.

Each test session gets its own topic prefix, consumer groups, Faust app id and ClickHouse database,
so runs never see each other's data. The worker and the API run as real subprocesses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import SecretStr

from fapiao import topics
from fapiao.bus import Publisher, delete_topics, ensure_topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.settings import Settings
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import NativeEngine
from schemas.events import CheckRequested, InvoiceIssued
from tests.integration.processes import cli_process, free_port, wait_for_line, wait_until_ok
from tests.smtp_server import Mailbox, smtp_server

RUN_ID = uuid.uuid4().hex[:8]
SYNC_WINDOW_SECONDS = 8.0  # short, so the sync-timeout path runs within a test
PARTITIONS = 4  # fewer than the production default (12): each test's stack starts faster
TEST_SECRET = f"integration-{RUN_ID}-" + uuid.uuid4().hex  # signs the API's session tokens
TEST_PASSWORD = "Tr1cky-Lantern-47"
SESSION_TTL_SECONDS = 6 * 3600
INTAKE_PRINCIPAL, INTAKE_ORG = "erp-intake", "org-intake-tests"  # an enterprise system over Kafka


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FAPIAO_TOPIC_PREFIX=settings.topic_prefix,
        FAPIAO_CLICKHOUSE_DATABASE=settings.clickhouse_database,
        FAPIAO_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        FAPIAO_TOPIC_PARTITIONS=str(settings.topic_partitions),
        FAPIAO_DATA_DIR=str(settings.data_dir),
        FAPIAO_SINK_BATCH_SECONDS=str(settings.sink_batch_seconds),
        FAPIAO_LOG_JSON="false",
        FAPIAO_ENV="test",
        FAPIAO_SYNC_WINDOW_SECONDS=str(settings.sync_window_seconds),
        FAPIAO_SYNC_SWEEP_SECONDS=str(settings.sync_sweep_seconds),
        FAPIAO_TABLE_SWEEP_SECONDS=str(settings.table_sweep_seconds),
        FAPIAO_ACCOUNTS_URL=settings.accounts_url,
        FAPIAO_SECRET_KEY=settings.secret_key.get_secret_value(),
        FAPIAO_KEYS_DIR=str(settings.keys_dir),
        FAPIAO_SM4_KEYS=settings.sm4_keys.get_secret_value(),
        FAPIAO_SM4_ACTIVE_KEY=settings.sm4_active_key,
        FAPIAO_HMAC_KEY=settings.hmac_key.get_secret_value(),
        FAPIAO_MODELS_DIR=str(settings.models_dir),
        FAPIAO_MODEL_POLL_SECONDS=str(settings.model_poll_seconds),
        FAPIAO_RISK_BEHAVIOUR=str(settings.risk_behaviour).lower(),
        FAPIAO_SESSION_TTL_SECONDS=str(settings.session_ttl_seconds),
        FAPIAO_SMTP_HOST=settings.smtp_host,
        FAPIAO_SMTP_PORT=str(settings.smtp_port),
        FAPIAO_SMTP_TLS=settings.smtp_tls,
        FAPIAO_SMTP_USERNAME=settings.smtp_username,
        FAPIAO_SMTP_PASSWORD=settings.smtp_password.get_secret_value(),
        FAPIAO_SMTP_FROM=settings.smtp_from,
        FAPIAO_DEV_EXPOSE_TOKENS=str(settings.dev_expose_tokens).lower(),
        FAPIAO_AUTH_RATE_PER_IP_PER_MINUTE=str(settings.auth_rate_per_ip_per_minute),
        FAPIAO_AUTH_RATE_PER_EMAIL_PER_MINUTE=str(settings.auth_rate_per_email_per_minute),
        FAPIAO_KAFKA_INTAKE=settings.kafka_intake,
    )
    return env


@contextlib.contextmanager
def private_stack(name: str, workdir: Path) -> Iterator[tuple[Settings, NativeEngine]]:
    """Topics and a migrated database of their own for one test (prefix `<name[0]><run>-`, database
    `<name>_<run>`), a short sink batch; the database and topics are dropped afterwards."""
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        topic_prefix=f"{name[0]}{run}-",
        clickhouse_database=f"{name}_{run}",
        data_dir=workdir / "data",
        sink_batch_seconds=0.2,
        topic_partitions=PARTITIONS,
    )
    asyncio.run(ensure_topics(settings))
    engine = NativeEngine(settings)
    migrations.migrate(engine)
    try:
        yield settings, engine
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
        engine.close()
        asyncio.run(delete_topics(settings))


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """The real SMTP server (aiosmtpd, AUTH required) the API processes send their mail to."""
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Settings:
    return Settings(
        env="test",
        topic_prefix=f"t{RUN_ID}-",
        clickhouse_database=f"test_{RUN_ID}",
        data_dir=tmp_path_factory.mktemp("worker"),
        topic_partitions=PARTITIONS,
        accounts_url=f"sqlite:///{tmp_path_factory.mktemp('accounts') / 'accounts.db'}",
        secret_key=SecretStr(TEST_SECRET),
        keys_dir=tmp_path_factory.mktemp("keys"),
        sm4_keys=SecretStr(f"k1:{uuid.uuid4().hex},k2:{uuid.uuid4().hex}"),
        sm4_active_key="k2",
        hmac_key=SecretStr(uuid.uuid4().hex + uuid.uuid4().hex),
        models_dir=tmp_path_factory.mktemp("models"),
        model_poll_seconds=0.5,
        sink_batch_seconds=0.2,
        sync_window_seconds=SYNC_WINDOW_SECONDS,
        sync_sweep_seconds=0.5,
        table_sweep_seconds=0.5,  # retention sweeps (test_table_retention)
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        smtp_tls="none",
        smtp_username=mailbox.username,
        smtp_password=SecretStr(mailbox.password),
        smtp_from="Fapiao Sentinel <no-reply@fapiao.test>",
        dev_expose_tokens=True,  # the tests' API also returns reset/invite tokens (strict_api: without)
        auth_rate_per_ip_per_minute=1_000_000,  # every test logs in from 127.0.0.1 (strict_api: limited)
        auth_rate_per_email_per_minute=1_000_000,
        kafka_intake=f"{INTAKE_PRINCIPAL}={INTAKE_ORG}",  # the worker's intake forwarder (test_kafka_intake)
        # The session `org`'s admin token is minted once and must outlive the slowest run (the default
        # 15 min expired it mid-suite on a loaded machine: 401s); expiry itself is tested with forged tokens.
        session_ttl_seconds=SESSION_TTL_SECONDS,
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[NativeEngine]:
    engine = NativeEngine(settings)
    migrations.migrate(engine)
    yield engine
    engine.execute(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
    engine.close()


@pytest.fixture(scope="session")
def topics_ready(settings: Settings) -> Iterator[None]:
    asyncio.run(ensure_topics(settings))
    yield
    asyncio.run(delete_topics(settings))  # after the worker and API stopped (they depend on this)


@pytest.fixture(scope="session")
def worker(
    settings: Settings, engine: NativeEngine, topics_ready: None, tmp_path_factory: pytest.TempPathFactory
):
    log = tmp_path_factory.mktemp("logs") / "worker.log"
    with cli_process(["worker"], _env(settings), log) as proc:
        wait_for_line(proc, log, "Worker ready", 120)
        yield proc


@pytest.fixture(scope="session")
def api_url(settings: Settings, worker: subprocess.Popen[bytes], tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    log = tmp_path_factory.mktemp("logs") / "api.log"
    url = f"http://127.0.0.1:{port}"
    with cli_process(["api", "--port", str(port)], _env(settings), log, stop_seconds=20) as proc:
        wait_until_ok(proc, log, f"{url}/readyz")
        yield url


STRICT_METRICS_TOKEN = f"metrics-{RUN_ID}"
STRICT_AUTH_PER_IP = 30
STRICT_AUTH_PER_EMAIL = 10
STRICT_HEADER_TIMEOUT = 2.0


@pytest.fixture(scope="session")
def strict_env(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the API as deployed (`strict_api`), its own accounts database included."""
    env = _env(settings)
    env.update(
        FAPIAO_ENV="production",
        FAPIAO_DEV_EXPOSE_TOKENS="false",
        FAPIAO_ACCOUNTS_URL=f"sqlite:///{tmp_path_factory.mktemp('strict-accounts') / 'accounts.db'}",
        FAPIAO_METRICS_TOKEN=STRICT_METRICS_TOKEN,
        FAPIAO_AUTH_RATE_PER_IP_PER_MINUTE=str(STRICT_AUTH_PER_IP),
        FAPIAO_AUTH_RATE_PER_EMAIL_PER_MINUTE=str(STRICT_AUTH_PER_EMAIL),
        FAPIAO_API_HEADER_TIMEOUT_SECONDS=str(STRICT_HEADER_TIMEOUT),
    )
    return env


def _strict_process(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("logs") / f"{name}.log"
    with cli_process(["api", "--port", str(port)], env, log, stop_seconds=20) as proc:
        wait_until_ok(proc, log, f"http://127.0.0.1:{port}/readyz")
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def strict_api(
    strict_env: dict[str, str],
    engine: NativeEngine,
    topics_ready: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A second API as deployed: FAPIAO_ENV=production (HSTS), no FAPIAO_DEV_EXPOSE_TOKENS (tokens go by
    mail only), the default login/registration limits, /metrics behind a token; own accounts database.
    Tests that exhaust a per-IP limit connect from their own loopback address (127.0.0.x)."""
    yield from _strict_process(strict_env, tmp_path_factory, "api-strict")


@pytest.fixture(scope="session")
def strict_api_twin(
    strict_api: str, strict_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second process of the strict API on the same accounts database (a deployment of two behind a
    balancer), started once `strict_api` has migrated it."""
    yield from _strict_process(strict_env, tmp_path_factory, "api-strict-twin")


@dataclass(frozen=True)
class Org:
    """A registered organisation: its admin (email, password, session token) and an API key."""

    org_id: str
    email: str
    password: str
    token: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        """The API key, for systems' calls (`/v1/checks`, …)."""
        return {"X-API-Key": self.api_key}

    @property
    def admin(self) -> dict[str, str]:
        """The admin's session, for members, API keys, 2FA."""
        return {"Authorization": f"Bearer {self.token}"}


def register_org(
    api_url: str,
    name: str = "测试企业",
    scopes: tuple[str, ...] = ("submit", "read", "alerts"),
    rate_per_minute: int | None = None,
) -> Org:
    """Register an organisation through the API, log its admin in and create an API key."""
    email = f"admin-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=api_url, timeout=10) as client:
        made = client.post(
            "/v1/auth/register", json={"org_name": name, "email": email, "password": TEST_PASSWORD}
        )
        assert made.status_code == 201, made.text
        login = client.post("/v1/auth/login", json={"email": email, "password": TEST_PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        key = client.post(
            "/v1/api-keys",
            headers={"Authorization": f"Bearer {token}"},
            json={"name": "tests", "scopes": list(scopes), "rate_per_minute": rate_per_minute},
        )
        assert key.status_code == 201, key.text
    return Org(made.json()["org_id"], email, TEST_PASSWORD, token, key.json()["key"])


@pytest.fixture(scope="session")
def make_org(api_url: str) -> Callable[..., Org]:
    """`make_org(name, scopes=…, rate_per_minute=…)`: a fresh organisation with an admin and a key."""
    return lambda *args, **kwargs: register_org(api_url, *args, **kwargs)


@pytest.fixture(scope="session")
def org(make_org: Callable[..., Org]) -> Org:
    """The organisation most tests act as."""
    return make_org("默认测试企业 Default Test Co.")


@pytest.fixture(scope="session")
def api_headers(org: Org) -> dict[str, str]:
    """Headers that authenticate as `org` with an API key of every scope."""
    return org.headers


@pytest.fixture
async def publisher(settings: Settings, topics_ready: None) -> AsyncIterator[Publisher]:
    pub = Publisher(settings)
    await pub.start()
    yield pub
    await pub.stop()


@contextlib.asynccontextmanager
async def consuming(settings: Settings) -> AsyncIterator[Any]:
    """`await consume(topic_base, predicate, timeout)` -> the first matching message value (bytes), on
    the topics of `settings`; every consumer it made is stopped at exit."""
    consumers: list[AIOKafkaConsumer] = []

    async def _consume(base: str, predicate, timeout: float = 20.0) -> bytes:  # type: ignore[no-untyped-def]
        consumer = AIOKafkaConsumer(
            settings.topic(base), bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest"
        )
        consumers.append(consumer)
        await consumer.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    if predicate(record.value):
                        return bytes(record.value)
        raise AssertionError(f"no matching message on {base} within {timeout}s")

    try:
        yield _consume
    finally:
        for c in consumers:
            await c.stop()


@pytest.fixture
async def consume(settings: Settings) -> AsyncIterator[Any]:
    """The session topics' `consuming` (see there)."""
    async with consuming(settings) as _consume:
        yield _consume


async def until_registered(  # type: ignore[no-untyped-def]
    consume, settings: Settings, inv, status: str | None = None, timeout: float = 30
) -> None:
    """Wait until the register table holds `inv` (its changelog carries the entry), with `status`
    (e.g. "voided") when one is given. The register and verify agents consume their topics
    independently (batches of a few ms each), so a check published right behind its invoice's
    issuance may be verified before the issuance is folded: a test that needs the invoice registered
    waits for it, as a producer's "issued, then checked" naturally does."""
    number = f'"invoice_number":"{inv.invoice_number}"'.encode()
    wanted = f'"{status}"'.encode() if status else b""
    # (a tombstone, None, is an expired invoice leaving the register: test_table_retention)
    await consume(
        f"{settings.app_id}-register-changelog",
        lambda v: v is not None and number in v.replace(b" ", b"") and wanted in v,
        timeout,
    )


async def publish_registered(
    publisher: Publisher, settings: Settings, *invoices: InvoiceIssued, timeout: float = 30
) -> None:
    """Publish the issuances of `invoices` and wait until the register holds each (`until_registered`),
    so a check sent next is verified against them. (A fixed sleep instead was a race: on a loaded
    machine the check could be answered 待同步 before the register had folded its invoice.)"""
    for inv in invoices:
        await publisher.publish(
            topics.INVOICES_ISSUED, invoice_key(inv.invoice_code, inv.invoice_number), inv
        )
    async with consuming(settings) as consume:
        for inv in invoices:
            await until_registered(consume, settings, inv, timeout=timeout)


async def records_on(settings: Settings, spec: topics.TopicSpec) -> int:
    """Records ever written to the topic (the sum of its partitions' end offsets)."""
    from aiokafka import TopicPartition

    from fapiao.bus import partitions_of
    from fapiao.kafka_auth import client_kwargs

    name = settings.topic(spec.name)
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(name, p) for p in await partitions_of(settings, name)]
        return sum((await consumer.end_offsets(parts)).values())
    finally:
        await consumer.stop()


async def publish_by_invoice(
    settings: Settings, spec: topics.TopicSpec, events: Iterable[InvoiceIssued | CheckRequested]
) -> None:
    """Publish the events on `spec`'s topic, keyed by invoice (one publisher, batched)."""
    publisher = Publisher(settings)
    await publisher.start()
    try:
        await publisher.publish_many((spec, invoice_key(e.invoice_code, e.invoice_number), e) for e in events)
    finally:
        await publisher.stop()


async def publish_issued(settings: Settings, invoices: Iterable[InvoiceIssued]) -> None:
    """Publish the issuances on invoices.issued."""
    await publish_by_invoice(settings, topics.INVOICES_ISSUED, invoices)


async def publish_checks(settings: Settings, checks: Iterable[CheckRequested]) -> None:
    """Publish the check requests on checks.requested."""
    await publish_by_invoice(settings, topics.CHECKS_REQUESTED, checks)


async def issue_all(settings: Settings, invoices: Iterable[InvoiceIssued]) -> None:
    """Publish the issuances and wait (bounded) until the register holds every one of them."""
    invoices = list(invoices)
    await publish_issued(settings, invoices)
    async with consuming(settings) as consume:
        await asyncio.gather(*(until_registered(consume, settings, i) for i in invoices))


async def wait_rows(
    engine: NativeEngine, sql: str, params: dict[str, object], want: int, timeout: float = 20.0
):
    """Poll ClickHouse until `sql` returns `want` rows; returns them."""
    deadline = time.monotonic() + timeout
    rows: list[tuple[object, ...]] = []
    while time.monotonic() < deadline:
        rows = await asyncio.to_thread(engine.execute, sql, params)
        if len(rows) >= want:
            return rows
        await asyncio.sleep(0.2)
    raise AssertionError(f"expected {want} rows, got {rows!r}")


# Debian's chromium driven by Playwright, for the web app's tests (test_web_*.py)
from tests.integration.web_browser import browser, open_app  # noqa: E402, F401
