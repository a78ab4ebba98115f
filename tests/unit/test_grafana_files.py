"""The Grafana provisioning: the data source, the dashboard and the compose service agree."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"


def test_the_dashboard_uses_the_provisioned_clickhouse_source_for_every_panel() -> None:
    source = yaml.safe_load((GRAFANA / "provisioning/datasources/clickhouse.yaml").read_text())[
        "datasources"
    ][0]
    assert (
        source["type"] == "grafana-clickhouse-datasource"
        and source["jsonData"]["defaultDatabase"] == "fapiao"
    )
    dashboard = json.loads((GRAFANA / "dashboards/fapiao-sentinel.json").read_text("utf-8"))
    titles = " ".join(p["title"] for p in dashboard["panels"])
    for wanted in ("Checks per minute", "Verdict mix", "Alert rate", "Top risky sellers", "latency"):
        assert wanted in titles
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"] == panel["targets"][0]["datasource"]["uid"]
        assert "org_id = '${org}'" in panel["targets"][0]["rawSql"]  # every panel is per organisation


def test_compose_provisions_grafana_with_the_plugin() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_INSTALL_PLUGINS"]
    mounts = " ".join(grafana["volumes"])
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning" in mounts
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/fapiao.yaml").read_text())["providers"][0]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}" in mounts
