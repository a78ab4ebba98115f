"""fapiao.kafka_intake and its ACLs: the organisation of a Kafka-submitted check follows the principal."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fapiao import topics
from fapiao.kafka_acls import USERS, Operation, Resource, bindings
from fapiao.kafka_intake import IntakeMapInvalid, forwarded, intake_topic, parse_intake_map, principal_of
from fapiao.settings import Settings
from tests.factories import check_of, issued


def test_the_map_is_read_and_checked() -> None:
    assert parse_intake_map("") == {}
    assert parse_intake_map(" erp-acme=org-aaa , sap.beta=org_b ") == {
        "erp-acme": "org-aaa",
        "sap.beta": "org_b",
    }
    for bad in ("erp-acme", "erp-acme=", "=org", "a b=org", "api=org-x", "x=o,x=p", "x=org/1"):
        with pytest.raises(IntakeMapInvalid):
            parse_intake_map(bad)


def test_the_topic_names_its_principal_and_the_payload_org_is_overridden() -> None:
    assert principal_of("t1-checks.intake.erp-acme", "t1-") == "erp-acme"
    assert principal_of("checks.intake.erp-acme", "") == "erp-acme"
    assert principal_of("t1-checks.requested", "t1-") is None
    assert principal_of("other-checks.intake.erp-acme", "t1-") is None
    request = check_of(issued(), org_id="org-victim")
    assert forwarded(request, "org-aaa").org_id == "org-aaa"
    assert forwarded(request, "org-aaa").check_id == request.check_id


def test_acls_only_the_principal_writes_its_intake_and_no_tenant_writes_requests() -> None:
    settings = Settings(_env_file=None, topic_prefix="p-", kafka_intake="erp-acme=org-aaa,erp-beta=org-bbb")
    acls = bindings(settings)

    def who(name: str, op: Operation) -> set[str]:
        return {
            a.principal for a in acls if a.resource == Resource.TOPIC and a.name == name and a.operation == op
        }

    acme = settings.topic(intake_topic("erp-acme"))
    assert who(acme, Operation.WRITE) == {"User:erp-acme"}  # not erp-beta, not api
    assert who(acme, Operation.READ) == {"User:worker"}
    requested = settings.topic(topics.CHECKS_REQUESTED.name)
    assert who(requested, Operation.WRITE) == {"User:api", "User:worker", "User:demo", "User:ops"}
    assert not any(a.principal == "User:erp-acme" and a.name != acme for a in acls)


def test_the_broker_script_formats_intake_principals_as_scram_users() -> None:
    script = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "sasl-broker.sh"
    services = list(USERS)
    env = {"PATH": os.environ["PATH"], "KAFKA_SASL_EXTRA_USERS": "erp-acme,sap.beta"}
    env |= {f"KAFKA_SCRAM_PASSWORD_{u.upper()}": f"pw-{u}" for u in services}
    env |= {"KAFKA_SCRAM_PASSWORD_ERP_ACME": "pw-acme", "KAFKA_SCRAM_PASSWORD_SAP_BETA": "pw-beta"}
    users = subprocess.run([str(script), "users"], env=env, capture_output=True, text=True, check=True)
    assert users.stdout.split() == [*services, "erp-acme", "sap.beta"]
    args = subprocess.run([str(script), "scram-args"], env=env, capture_output=True, text=True, check=True)
    assert "SCRAM-SHA-512=[name=erp-acme,password=pw-acme]" in args.stdout.splitlines()
