"""docker-compose's `cluster` profile: the topology of deploy/local/cluster.sh from official images
(apache/kafka x3, clickhouse/clickhouse-server x4, clickhouse/clickhouse-keeper), validated and resolved
by docker-compose itself, and consistent with the ClickHouse config it mounts."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml

from tests.unit.test_deploy_files import ROOT, _compose_config


def _cluster_services(tmp_path: Path) -> dict[str, Any]:
    env_file = tmp_path / "env"
    subprocess.run([str(ROOT / "deploy/docker/secrets.sh"), str(env_file)], check=True, capture_output=True)
    done = _compose_config(env_file, "--profile", "cluster")
    assert done.returncode == 0, done.stderr.decode()
    services: dict[str, Any] = yaml.safe_load(done.stdout)["services"]
    return {name: svc for name, svc in services.items() if "cluster" in svc.get("profiles", [])}


def test_cluster_profile_runs_three_brokers_four_clickhouse_nodes_and_a_keeper(tmp_path: Path) -> None:
    cluster = _cluster_services(tmp_path)
    images = sorted(svc["image"].split(":")[0] for svc in cluster.values() if "build" not in svc)
    assert (
        images
        == ["apache/kafka"] * 3 + ["clickhouse/clickhouse-keeper"] + ["clickhouse/clickhouse-server"] * 4
    )
    brokers = {n: s["environment"] for n, s in cluster.items() if s["image"].startswith("apache/kafka")}
    assert {env["KAFKA_SASL_NODE_ID"] for env in brokers.values()} == {"1", "2", "3"}
    assert {env["KAFKA_SASL_VOTERS"] for env in brokers.values()} == {
        "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
    }
    assert {env["KAFKA_SASL_REPLICATION"] for env in brokers.values()} == {"3"}
    nodes = {
        n: s["environment"]
        for n, s in cluster.items()
        if s["image"].startswith("clickhouse/clickhouse-server")
    }
    assert sorted((env["CLICKHOUSE_SHARD"], env["CLICKHOUSE_REPLICA"]) for env in nodes.values()) == [
        ("1", "clickhouse-s1r1"),
        ("1", "clickhouse-s1r2"),
        ("2", "clickhouse-s2r1"),
        ("2", "clickhouse-s2r2"),
    ]
    assert all(name == env["CLICKHOUSE_REPLICA"] for name, env in nodes.items())


def test_cluster_app_services_point_at_every_broker_and_the_clickhouse_cluster(tmp_path: Path) -> None:
    cluster = _cluster_services(tmp_path)
    config = ET.parse(ROOT / "deploy/docker/cluster/clickhouse-node.xml").getroot()
    (cluster_xml,) = list(config.find("remote_servers") or [])
    replicas = [f"{r.findtext('host')}:{r.findtext('port')}" for r in cluster_xml.iter("replica")]
    for name in ("kafka-acls-cluster", "migrate-cluster", "worker-cluster", "api-cluster"):
        env = cluster[name]["environment"]
        assert env["FAPIAO_ENV"] == "production", name
        assert env["FAPIAO_KAFKA_BOOTSTRAP"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092", name
        assert env["FAPIAO_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT", name
        assert (env["FAPIAO_TOPIC_REPLICATION"], env["FAPIAO_TOPIC_MIN_INSYNC_REPLICAS"]) == ("3", "2"), name
        assert env["FAPIAO_CLICKHOUSE_CLUSTER"] == cluster_xml.tag, name
        hosts = [f"{env['FAPIAO_CLICKHOUSE_HOST']}:{env['FAPIAO_CLICKHOUSE_PORT']}"]
        assert hosts + env["FAPIAO_CLICKHOUSE_ALT_HOSTS"].split(",") == replicas, name
