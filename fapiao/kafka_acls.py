"""Who may do what on the Kafka broker: the per-service principals and their ACLs, as data.

The one definition used by docker-compose (its `kafka-acls` service runs `fapiao kafka acls --apply`)
and by the local SASL broker (`deploy/local/kafka.sh` with KAFKA_SASL=1). Each service logs in with
SCRAM as its own principal; `admin` is a super user (topic creation, ACLs) and holds no grants here.

- `api`: submits checks and re-checks, publishes risk rules, follows results, alerts and rules
  group-less (every replica sees every event).
- `worker`: the Faust app; reads every topic, writes only what the pipeline derives (never the
  register feed or rules; check requests only when FAPIAO_KAFKA_INTAKE is set, for its intake
  forwarder), owns its consumer group and its internal topics (`<app id>-…`: table changelogs, the
  assignor's leader topic).
- each principal of FAPIAO_KAFKA_INTAKE (an organisation's own system): writes only its intake topic
  `checks.intake.<principal>`; the organisation of its checks is the one the map gives it
  (fapiao/kafka_intake.py), never the payload's.
- `enterprise`: a register feed (issuing systems): writes invoices.issued / invoices.status.
- `analyst`: reads risk.alerts, with consumer groups of its own (`analyst-…`).
- `demo`: the demo feed (`fapiao demo`), which plays both the register and the requesters: writes
  invoices.* and checks.requested, and watches the worker's lag on the register (describes its group).
- `webhooks`: the deliveries process (`fapiao webhooks`): reads checks.results and risk.alerts in its
  consumer group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from fapiao import topics
from fapiao.kafka_intake import intake_topic, parse_intake_map
from fapiao.settings import Settings

ADMIN = "admin"
ANALYST_GROUP_PREFIX = "analyst-"
WEBHOOKS_GROUP = "fapiao-webhooks"  # the consumer group of `fapiao webhooks` (under the topic prefix)


class Resource(IntEnum):
    """Kafka's AclResourceType codes."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class Pattern(IntEnum):
    """Kafka's PatternType codes."""

    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    """Kafka's AclOperation codes (the ones we grant)."""

    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    DESCRIBE = 8
    DESCRIBE_CONFIGS = 10


ALLOW = 3  # AclPermissionType.ALLOW
ANY_HOST = "*"
CLUSTER_NAME = "kafka-cluster"


@dataclass(frozen=True)
class Access:
    """What one service does: topics it publishes to and reads, and the groups it uses."""

    produces: tuple[topics.TopicSpec, ...] = ()
    reads: tuple[topics.TopicSpec, ...] = ()
    declares_topics: bool = False  # Faust declares (creates if missing) every topic it knows
    owns_app_group: bool = False  # the Faust consumer group and `<app id>-…` internal topics
    describes_app_group: bool = False  # may read the worker's committed offsets (lag)
    group_prefixes: tuple[str, ...] = field(default=())


_DERIVED = (
    topics.CHECKS_RESULTS,
    topics.CHECKS_RECHECKS,
    topics.CHECKS_VERIFIED,
    topics.SELLERS_ACTIVITY,
    topics.RISK_ALERTS,
    topics.CHECKS_DLQ,
)

# every topic a dead letter can come from (a replay publishes it there again)
_SOURCES = tuple(spec for spec in topics.ALL if spec not in (topics.CHECKS_DLQ, topics.DLQ_REPLAYS))

PRINCIPALS: dict[str, Access] = {
    "api": Access(
        produces=(topics.CHECKS_REQUESTED, topics.CHECKS_RECHECKS, topics.RISK_RULES),
        reads=(topics.CHECKS_RESULTS, topics.RISK_ALERTS, topics.RISK_RULES),
    ),
    "worker": Access(produces=_DERIVED, reads=topics.ALL, declares_topics=True, owns_app_group=True),
    "enterprise": Access(produces=(topics.INVOICES_ISSUED, topics.INVOICES_STATUS)),
    "analyst": Access(reads=(topics.RISK_ALERTS,), group_prefixes=(ANALYST_GROUP_PREFIX,)),
    "demo": Access(
        produces=(topics.INVOICES_ISSUED, topics.INVOICES_STATUS, topics.CHECKS_REQUESTED),
        describes_app_group=True,
    ),
    # the platform operator: `fapiao dlq replay` (a letter back to its source topic, recorded on
    # checks.dlq.replays) and `fapiao risk-rules publish-default`
    "ops": Access(
        produces=(*_SOURCES, topics.RISK_RULES, topics.DLQ_REPLAYS),
        reads=(topics.CHECKS_DLQ, topics.DLQ_REPLAYS, topics.RISK_RULES),
    ),
    # `fapiao webhooks` (fapiao/webhooks/process.py): reads results and alerts in its own group
    "webhooks": Access(reads=(topics.CHECKS_RESULTS, topics.RISK_ALERTS), group_prefixes=(WEBHOOKS_GROUP,)),
}

USERS: tuple[str, ...] = (ADMIN, *PRINCIPALS)
"""Every SCRAM user the broker is formatted with (docker-compose.yml and kafka.sh list the same)."""


@dataclass(frozen=True, order=True)
class AclBinding:
    principal: str  # "User:<name>"
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation

    def describe(self) -> str:
        return (
            f"{self.principal:<16} {self.operation.name:<16} {self.resource.name:<7} "
            f"{self.pattern.name.lower():<8} {self.name}"
        )


def bindings(settings: Settings, principals: dict[str, Access] = PRINCIPALS) -> list[AclBinding]:
    """Every ALLOW ACL for `settings` (its topic prefix and Faust app id), sorted and without repeats."""
    out: set[AclBinding] = set()

    def grant(user: str, resource: Resource, name: str, pattern: Pattern, *ops: Operation) -> None:
        out.update(AclBinding(f"User:{user}", resource, name, pattern, op) for op in ops)

    for user, access in principals.items():
        for spec in access.produces:
            grant(
                user,
                Resource.TOPIC,
                settings.topic(spec.name),
                Pattern.LITERAL,
                Operation.WRITE,
                Operation.DESCRIBE,
            )
        for spec in access.reads:
            grant(
                user,
                Resource.TOPIC,
                settings.topic(spec.name),
                Pattern.LITERAL,
                Operation.READ,
                Operation.DESCRIBE,
            )
        if access.declares_topics:
            for spec in topics.ALL:
                grant(user, Resource.TOPIC, settings.topic(spec.name), Pattern.LITERAL, Operation.CREATE)
        if access.owns_app_group:
            app = settings.faust_app_id
            grant(user, Resource.GROUP, app, Pattern.LITERAL, Operation.READ, Operation.DESCRIBE)
            sink = settings.sink_group  # the ClickHouse sink's own consumer (streams/sink.py)
            grant(user, Resource.GROUP, sink, Pattern.LITERAL, Operation.READ, Operation.DESCRIBE)
            grant(
                user,
                Resource.TOPIC,
                f"{app}-",
                Pattern.PREFIXED,
                Operation.READ,
                Operation.WRITE,
                Operation.CREATE,
                Operation.DESCRIBE,
                Operation.DESCRIBE_CONFIGS,
            )
        if access.describes_app_group:
            grant(user, Resource.GROUP, settings.faust_app_id, Pattern.LITERAL, Operation.DESCRIBE)
        for prefix in access.group_prefixes:
            grant(user, Resource.GROUP, f"{settings.topic_prefix}{prefix}", Pattern.PREFIXED, Operation.READ)
            grant(
                user, Resource.GROUP, f"{settings.topic_prefix}{prefix}", Pattern.PREFIXED, Operation.DESCRIBE
            )
    for principal in parse_intake_map(settings.kafka_intake):  # enterprise systems submitting checks
        intake = settings.topic(intake_topic(principal))
        grant(principal, Resource.TOPIC, intake, Pattern.LITERAL, Operation.WRITE, Operation.DESCRIBE)
        if "worker" in principals:  # its forwarder re-publishes them onto checks.requested
            grant("worker", Resource.TOPIC, intake, Pattern.LITERAL, Operation.READ, Operation.DESCRIBE)
            grant("worker", Resource.TOPIC, intake, Pattern.LITERAL, Operation.CREATE)
            requested = settings.topic(topics.CHECKS_REQUESTED.name)
            grant("worker", Resource.TOPIC, requested, Pattern.LITERAL, Operation.WRITE)
    return sorted(out)


def render(acls: list[AclBinding]) -> str:
    """A readable table of the ACLs (what `fapiao kafka acls` prints)."""
    header = f"{'principal':<16} {'operation':<16} {'type':<7} {'pattern':<8} resource"
    return "\n".join([header, *(acl.describe() for acl in acls)])
