"""PostgreSQL from Debian packages, on its own data directory and port under the data folder.

The server refuses to run as root, so when we are root it runs as the `postgres` system user
that the Debian package creates; the data folder is handed to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from deploy.local_stack.base import LocalService
from deploy.local_stack.process import port_open, run_checked, say

POSTGRES_CONF = """\
# Written by `ledgerline services up`.
listen_addresses = '{host}'
port = {port}
unix_socket_directories = '{socket_dir}'
max_connections = 200
shared_buffers = 512MB
work_mem = 16MB
maintenance_work_mem = 128MB
# Batch merges write a lot of WAL at once: checkpoints every few seconds (the 1GB default)
# rewrite the same hot pages again and again.
max_wal_size = 8GB
min_wal_size = 1GB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
wal_level = minimal
# A sink batch writes WAL faster than 16MB (the default cap) per wal_writer_delay (200ms): in a
# 1M-event run of benchmarks/sink.py the buffers were full ~90k times, each time the inserting
# backend writing WAL itself. With these the WAL writer, on another core, does it (0 times);
# the sink measured ~3% faster, within run-to-run noise.
wal_buffers = 64MB
wal_writer_delay = 20ms
max_wal_senders = 0
synchronous_commit = on
fsync = on
logging_collector = off
log_min_duration_statement = 1000
timezone = 'UTC'
"""

PG_HBA = """\
# Written by `ledgerline services up`: local socket trusts the OS user, TCP needs a password.
local   all all                trust
host    all all 127.0.0.1/32   scram-sha-256
host    all all ::1/128        scram-sha-256
"""


def _bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


class PostgresService(LocalService):
    name = "postgres"
    health_probe = "pg_isready"

    def endpoint(self) -> str:
        pg = self.settings.postgres
        return f"postgresql://{pg.host}:{pg.port}/{pg.database}"

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "cluster"

    @property
    def run_as(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def install(self) -> None:
        if _bin_dir() is not None:
            return
        say(self.name, "installing PostgreSQL from Debian packages (apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run_checked(["apt-get", "update", "-q"], self.name, env=env)
        run_checked(["apt-get", "install", "-y", "-q", "postgresql"], self.name, env=env)
        # The package starts a default cluster on 5432; ours runs on its own port, so stop it.
        subprocess.run(["service", "postgresql", "stop"], capture_output=True, check=False)
        if _bin_dir() is None:
            raise RuntimeError("postgres: installation finished but pg_ctl was not found")

    def _pg(self, tool: str) -> str:
        bin_dir = _bin_dir()
        assert bin_dir is not None
        return str(bin_dir / tool)

    def _hand_over(self, path: Path) -> None:
        """Give the postgres user its folder and make sure it can reach it from /."""
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam("postgres")
        for current in [path, *path.parents]:
            if current == path:
                os.chown(current, account.pw_uid, account.pw_gid)
                continue
            mode = current.stat().st_mode
            if not mode & stat.S_IXOTH:
                say(self.name, f"granting search (o+x) on {current} so the postgres user can reach its data")
                os.chmod(current, mode | stat.S_IXOTH)

    def _initialise(self) -> None:
        pg = self.settings.postgres
        say(self.name, f"initialising cluster in {self.cluster_dir}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.data_dir)
        with tempfile.NamedTemporaryFile("w", delete=False, dir=self.data_dir) as password_file:
            password_file.write(pg.admin_password.get_secret_value() + "\n")
        if os.geteuid() == 0:
            shutil.chown(password_file.name, "postgres", "postgres")
        try:
            run_checked(
                [
                    *self.run_as,
                    self._pg("initdb"),
                    "-D",
                    str(self.cluster_dir),
                    "-U",
                    pg.admin_user,
                    f"--pwfile={password_file.name}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--lc-collate=C",  # byte-order text comparison: see platform_common.postgres.create_database
                ],
                self.name,
                cwd=Path("/"),
            )
        finally:
            os.unlink(password_file.name)

    def _configure(self) -> None:
        pg = self.settings.postgres
        socket_dir = self.data_dir / "socket"
        socket_dir.mkdir(exist_ok=True)
        self._hand_over(socket_dir)
        (self.cluster_dir / "postgresql.auto.conf").write_text(
            POSTGRES_CONF.format(host=pg.host, port=pg.port, socket_dir=socket_dir)
        )
        (self.cluster_dir / "pg_hba.conf").write_text(PG_HBA)
        if os.geteuid() == 0:
            for name in ("postgresql.auto.conf", "pg_hba.conf"):
                shutil.chown(self.cluster_dir / name, "postgres", "postgres")

    def start(self) -> None:
        if not (self.cluster_dir / "PG_VERSION").exists():
            self._initialise()
        self._configure()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.data_dir / "server.log"
        run_checked(
            [
                *self.run_as,
                self._pg("pg_ctl"),
                "-D",
                str(self.cluster_dir),
                "-l",
                str(log_file),
                "-w",
                "-t",
                "60",
                "start",
            ],
            self.name,
            cwd=Path("/"),
        )
        pid_line = (self.cluster_dir / "postmaster.pid").read_text().splitlines()[0]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.pid_path.write_text(pid_line.strip() + "\n")
        self._ensure_database()
        say(self.name, f"started pid {pid_line.strip()}, log {log_file}")

    def _ensure_database(self) -> None:
        import psycopg

        from platform_common.postgres import create_database

        pg = self.settings.postgres
        with psycopg.connect(
            host=pg.host,
            port=pg.port,
            dbname="postgres",
            user=pg.admin_user,
            password=pg.admin_password.get_secret_value(),
            autocommit=True,
        ) as conn:
            found = conn.execute("SELECT datcollate FROM pg_database WHERE datname = %s", (pg.database,)).fetchone()
            if not found:
                create_database(conn, pg.database)
                say(self.name, f"created database {pg.database}")
            elif found[0] != "C":  # made before databases got byte-order collation; still correct
                note = f"database {pg.database} compares text by {found[0]}, not C: slower keys"
                say(self.name, f"{note}; `make reset` makes it again (its data is lost)")

    def stop(self) -> bool:
        if not self.is_running():
            self.pid_path.unlink(missing_ok=True)
            return False
        run_checked(
            [*self.run_as, self._pg("pg_ctl"), "-D", str(self.cluster_dir), "-m", "fast", "-w", "stop"],
            self.name,
            cwd=Path("/"),
        )
        self.pid_path.unlink(missing_ok=True)
        return True

    def is_healthy(self) -> bool:
        pg = self.settings.postgres
        if not port_open(pg.host, pg.port):
            return False
        result = (
            subprocess.run(
                [self._pg("pg_isready"), "-h", pg.host, "-p", str(pg.port), "-d", pg.database, "-q"],
                capture_output=True,
                check=False,
            )
            if _bin_dir()
            else None
        )
        return result is not None and result.returncode == 0
