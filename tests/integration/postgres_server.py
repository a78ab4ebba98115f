"""A private PostgreSQL server for one test module: Debian's binaries (deploy/local/tools.sh installs
them), `initdb` + `pg_ctl` on a temporary folder and a free port, password (SCRAM) logins only.

PostgreSQL refuses to run as root; as root the server runs as the `postgres` system user that the
Debian package creates. Nothing is skipped: when the server cannot start, the fixture fails and says why.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.integration.processes import free_port

USER = "fapiao"


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise AssertionError(
            "PostgreSQL server binaries missing (/usr/lib/postgresql/*/bin/initdb): "
            "run deploy/local/tools.sh (`make tools`), which apt-installs Debian's postgresql"
        )
    return found[-1].parent


def _run(cmd: list[str], as_user: str | None, log: Path | None = None) -> None:
    if as_user is not None:
        cmd = ["runuser", "-u", as_user, "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        detail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        raise AssertionError(
            f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n{detail}"
        )


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server with database `accounts`; yields its SQLAlchemy URL (`postgresql+psycopg://…`)."""
    bin_dir = _bin_dir()
    as_user = None
    root = Path(tempfile.mkdtemp(prefix="fapiao-pg-"))
    if os.geteuid() == 0:
        as_user = "postgres"
        try:
            account = pwd.getpwnam(as_user)
        except KeyError as exc:
            raise AssertionError(
                "running as root needs the `postgres` user of Debian's postgresql package"
            ) from exc
        os.chmod(root, 0o700)
        os.chown(root, account.pw_uid, account.pw_gid)
    data, log, pwfile = root / "data", root / "server.log", root / "pw"
    password = secrets.token_hex(16)
    pwfile.write_text(password + "\n")
    if as_user is not None:
        os.chown(pwfile, pwd.getpwnam(as_user).pw_uid, -1)
    port = free_port()
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        as_user,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run(
        [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
        as_user,
        log,
    )
    try:
        _create_database(port, password)
        yield f"postgresql+psycopg://{USER}:{password}@127.0.0.1:{port}/accounts"
    finally:
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], as_user, log)
        shutil.rmtree(root, ignore_errors=True)


def _create_database(port: int, password: str) -> None:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=port, user=USER, password=password, dbname="postgres", autocommit=True
    ) as connection:
        connection.execute("CREATE DATABASE accounts")
