"""How every Kafka client of ours connects and authenticates, built from `Settings` in one place.

aiokafka producers, consumers and admin clients take `**client_kwargs(settings)`; the Faust app takes
`broker_credentials=faust_credentials(settings)`. PLAINTEXT (the local broker) needs no credentials;
SASL_PLAINTEXT / SASL_SSL log in with SCRAM as the process's own principal (see fapiao.kafka_acls).
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from fapiao.settings import Settings

if TYPE_CHECKING:
    import faust


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for SASL_SSL (verifying the broker against `kafka_ssl_cafile` or the system CAs)."""
    if settings.kafka_security_protocol != "SASL_SSL":
        return None
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    return ssl.create_default_context(cafile=cafile)


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client: bootstrap servers, how stale its metadata may get
    (`Settings.kafka_metadata_max_age_ms`), plus security settings."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "metadata_max_age_ms": settings.kafka_metadata_max_age_ms,
    }
    if settings.kafka_security_protocol == "PLAINTEXT":
        return kwargs
    kwargs.update(
        security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        sasl_plain_username=settings.kafka_username,
        sasl_plain_password=settings.kafka_password.get_secret_value(),
    )
    context = ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    return kwargs


def faust_credentials(settings: Settings) -> faust.SASLCredentials | None:
    """The same login for the Faust app (None: PLAINTEXT)."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    import faust

    return faust.SASLCredentials(
        username=settings.kafka_username,
        password=settings.kafka_password.get_secret_value(),
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=ssl_context(settings),
    )
