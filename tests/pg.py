"""A real PostgreSQL server for the tests, started by the tests themselves.

Debian's `postgresql` package (scripts/setup.sh installs it) provides `initdb` and `pg_ctl`.  A cluster is
made in a temporary folder once per session, listening on 127.0.0.1 at a random port, logins by password
(so the tests see real password handling), run as an unprivileged user when the tests run as root (the
server refuses to run as root), and stopped at the end.  Each test gets a fresh, empty database.

Where the server cannot be found or started, the PostgreSQL tests are skipped with the reason; on CI such
a skip fails the run (see the `postgres` marker in conftest).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "pv-" + secrets.token_hex(8)  # a real password: the tests check it is never printed
SUPERUSER = "papervoice"


def _bin_dir() -> Path | None:
    """Debian keeps the server programs out of PATH, under /usr/lib/postgresql/<version>/bin."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running cluster: `url(db)` is a postgresql:// address with the password in it."""

    folder: Path
    port: int
    bin_dir: Path
    run_as: list[str]
    counter: int = 0

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self, hint: str = "t") -> str:
        """A fresh empty database; its URL."""
        self.counter += 1
        name = f"{''.join(c for c in hint.lower() if c.isalnum())[:40]}_{os.getpid()}_{self.counter}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' LC_COLLATE \'C\' LC_CTYPE \'C\'')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run([*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                        "immediate", "-w", "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> PgServer:
    """Start a throw-away cluster; raises RuntimeError saying why it cannot."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("the psycopg package is not installed (pip install 'psycopg[binary]')") from exc
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's server programs are not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="papervoice-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: run it as nobody, in a folder nobody owns
        if shutil.which("runuser") is None:
            raise RuntimeError("running as root and runuser is missing: cannot start postgres unprivileged")
        run_as = ["runuser", "-u", "nobody", "--"]
        os.chmod(folder, 0o755)
        shutil.chown(folder, "nobody")
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        shutil.chown(pwfile, "nobody")
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    steps = [
        [str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", SUPERUSER, f"--pwfile={pwfile}",
         "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
        [str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w", "-t", "60", "-o",
         f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
         "-c full_page_writes=off -c max_connections=60 -c shared_buffers=16MB", "start"],
    ]
    for step in steps:
        done = subprocess.run([*run_as, *step], capture_output=True, text=True, timeout=120, env=env, check=False)
        if done.returncode != 0:
            log = (folder / "log").read_text(errors="replace")[-800:] if (folder / "log").exists() else ""
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"{Path(step[0]).name} failed: {(done.stderr or done.stdout).strip()[-800:]} {log}")
    pwfile.unlink()
    server = PgServer(folder, port, bin_dir, run_as)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.admin("SELECT 1")
            return server
        except Exception as exc:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the test server did not accept connections: {exc}") from exc
            time.sleep(0.2)
