"""Registers the project's ClickHouse in Superset, the `bi_*` views as datasets, and builds the
"Fapiao Sentinel" dashboard (checks per minute, verdict mix, alert rate, top risky sellers, latency)
through Superset's REST API. Idempotent: what exists (by name) is reused. Runs in Superset's virtualenv.

Settings from the environment as the project's own: FAPIAO_CLICKHOUSE_HOST/PORT/USER/PASSWORD/DATABASE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import quote

import requests

DATABASE_NAME = "Fapiao ClickHouse"
SLUG = "fapiao-sentinel"
VIEWS = (
    "bi_checks",
    "bi_checks_hourly",
    "bi_checks_daily",
    "bi_sellers_daily",
    "bi_requesters_daily",
    "bi_alerts",
    "bi_checks_per_minute",
)
ALERT_RATE_SQL = (
    "SELECT (SELECT count() FROM bi_alerts) AS alerts, (SELECT count() FROM bi_checks) AS checks, "
    "if(checks = 0, 0, alerts / checks) AS alert_rate"
)


def sql_metric(expression: str, label: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": expression, "label": label}


# (name, dataset, viz_type, params, width): the dashboard's charts, in order
CHARTS: list[tuple[str, str, str, dict[str, Any], int]] = [
    (
        "查验次数 Checks",
        "bi_checks",
        "big_number_total",
        {"metric": sql_metric("count()", "checks"), "adhoc_filters": [], "y_axis_format": ",d"},
        3,
    ),
    (
        "预警率 Alert rate",
        "alert_rate",
        "big_number_total",
        {"metric": sql_metric("max(alert_rate)", "alert rate"), "adhoc_filters": [], "y_axis_format": ".2%"},
        3,
    ),
    (
        "平均时延 Latency (s)",
        "bi_checks",
        "big_number_total",
        {
            "metric": sql_metric("avg(latency_seconds)", "latency s"),
            "adhoc_filters": [],
            "y_axis_format": ".3f",
        },
        3,
    ),
    (
        "预警数 Alerts",
        "bi_alerts",
        "big_number_total",
        {"metric": sql_metric("count()", "alerts"), "adhoc_filters": [], "y_axis_format": ",d"},
        3,
    ),
    (
        "每分钟查验 Checks per minute",
        "bi_checks_per_minute",
        "echarts_timeseries_line",
        {
            "x_axis": "minute",
            "time_grain_sqla": None,
            "metrics": [sql_metric("sum(checks)", "checks")],
            "adhoc_filters": [],
            "row_limit": 10000,
        },
        8,
    ),
    (
        "结果分布 Verdict mix",
        "bi_checks",
        "pie",
        {
            "groupby": ["verdict"],
            "metric": sql_metric("count()", "checks"),
            "adhoc_filters": [],
            "row_limit": 20,
        },
        4,
    ),
    (
        "高风险销售方 Top risky sellers",
        "bi_alerts",
        "table",
        {
            "query_mode": "aggregate",
            "groupby": ["seller_ref"],
            "metrics": [sql_metric("count()", "alerts"), sql_metric("max(score)", "max score")],
            "adhoc_filters": [],
            "row_limit": 10,
            "order_desc": True,
            "timeseries_limit_metric": sql_metric("count()", "alerts"),
        },
        12,
    ),
]


class Superset:
    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()
        answer = self.http.post(
            f"{self.url}/api/v1/security/login",
            json={"username": user, "password": password, "provider": "db", "refresh": True},
            timeout=60,
        )
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, f"{self.url}{path}", timeout=120, **kwargs)
        if answer.status_code >= 400:
            raise SystemExit(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json()

    def find(self, resource: str, column: str, value: str) -> int | None:
        q = f"(filters:!((col:{column},opr:eq,value:'{value}')))"
        found = self.call("GET", f"/api/v1/{resource}/?q={quote(q)}")["result"]
        return int(found[0]["id"]) if found else None


def clickhouse_uri() -> tuple[str, str]:
    env = os.environ
    database = env.get("FAPIAO_CLICKHOUSE_DATABASE", "fapiao")
    user = quote(env.get("FAPIAO_CLICKHOUSE_USER", "default"))
    password = quote(env.get("FAPIAO_CLICKHOUSE_PASSWORD", ""))
    host, port = env.get("FAPIAO_CLICKHOUSE_HOST", "127.0.0.1"), env.get("FAPIAO_CLICKHOUSE_PORT", "9000")
    return f"clickhouse+native://{user}:{password}@{host}:{port}/{database}", database


def provision(api: Superset) -> dict[str, Any]:
    uri, schema = clickhouse_uri()
    database = api.find("database", "database_name", DATABASE_NAME)
    body = {"database_name": DATABASE_NAME, "sqlalchemy_uri": uri, "expose_in_sqllab": True}
    if database is None:
        database = int(api.call("POST", "/api/v1/database/", json=body)["id"])
    else:
        api.call("PUT", f"/api/v1/database/{database}", json=body)
    datasets: dict[str, int] = {}
    for view, sql in [*((v, None) for v in VIEWS), ("alert_rate", ALERT_RATE_SQL)]:
        body = {"database": database, "schema": schema, "table_name": view, **({"sql": sql} if sql else {})}
        found = api.find("dataset", "table_name", view)
        if found is None:
            found = int(api.call("POST", "/api/v1/dataset/", json=body)["id"])
        else:  # the database may have been renamed since (FAPIAO_CLICKHOUSE_DATABASE)
            api.call(
                "PUT", f"/api/v1/dataset/{found}", json={"schema": schema, **({"sql": sql} if sql else {})}
            )
        datasets[view] = found
    dashboard = api.find("dashboard", "slug", SLUG)
    if dashboard is None:
        dashboard = int(
            api.call(
                "POST",
                "/api/v1/dashboard/",
                json={"dashboard_title": "Fapiao Sentinel", "slug": SLUG, "published": True},
            )["id"]
        )
    charts: list[tuple[int, int]] = []
    for name, dataset, viz, params, width in CHARTS:
        full = {
            "viz_type": viz,
            "datasource": f"{datasets[dataset]}__table",
            "time_range": "No filter",
            **params,
        }
        body = {
            "slice_name": name,
            "viz_type": viz,
            "datasource_id": datasets[dataset],
            "datasource_type": "table",
            "params": json.dumps(full),
            "dashboards": [dashboard],
        }
        chart = api.find("chart", "slice_name", name)
        if chart is None:
            chart = int(api.call("POST", "/api/v1/chart/", json=body)["id"])
        else:
            api.call("PUT", f"/api/v1/chart/{chart}", json=body)
        charts.append((chart, width))
    api.call(
        "PUT",
        f"/api/v1/dashboard/{dashboard}",
        json={"position_json": json.dumps(layout(charts)), "published": True},
    )
    return {
        "database": database,
        "datasets": datasets,
        "dashboard": dashboard,
        "slug": SLUG,
        "charts": [c for c, _ in charts],
    }


def layout(charts: list[tuple[int, int]]) -> dict[str, Any]:
    """Rows of 12 columns: the four figures, then the time series and the pie, then the table."""
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }
    row, used = None, 12
    for chart, width in charts:
        if used + width > 12:
            row = f"ROW-{len(position)}"
            position[row] = {
                "type": "ROW",
                "id": row,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID"],
                "meta": {"background": "BACKGROUND_TRANSPARENT"},
            }
            position["GRID_ID"]["children"].append(row)
            used = 0
        key = f"CHART-{chart}"
        position[key] = {
            "type": "CHART",
            "id": key,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID", row],
            "meta": {"chartId": chart, "width": width, "height": 50},
        }
        position[row]["children"].append(key)
        used += width
    return position


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    made = provision(Superset(args.url, args.user, args.password))
    json.dump(made, sys.stdout)
    print()


if __name__ == "__main__":
    main()
