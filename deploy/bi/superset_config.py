"""Superset's configuration for Fapiao Sentinel's BI (deploy/bi/superset.sh passes it as
SUPERSET_CONFIG_PATH). Metadata in SQLite under .local/bi/, nothing fetched from outside."""

import os

_HOME = os.environ.get("FAPIAO_BI_HOME", os.path.join(os.getcwd(), ".local", "bi"))
SECRET_KEY = os.environ.get("FAPIAO_BI_SECRET_KEY") or "fapiao-bi-development-only-change-me-0123456789"
SQLALCHEMY_DATABASE_URI = f"sqlite:///{os.path.join(_HOME, 'superset.db')}"
DATA_DIR = _HOME
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 60}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}  # a dashboard shows what ClickHouse has now (live BI)
WTF_CSRF_ENABLED = False  # the REST API is used by the setup script with a bearer token
TALISMAN_ENABLED = False
FEATURE_FLAGS = {"DASHBOARD_RBAC": False}
SUPERSET_WEBSERVER_TIMEOUT = 120
MAPBOX_API_KEY = ""
PREVENT_UNSAFE_DB_CONNECTIONS = False
