"""A throw-away PostgreSQL server for the tests: initdb into a temporary directory, started on 127.0.0.1 only.

:func:`start` finds Debian's server binaries (``/usr/lib/postgresql/<version>/bin``, newest first; else
``pg_config --bindir``; else ``initdb``/``pg_ctl`` on ``PATH``), makes a cluster in a fresh temporary
directory, and starts it

- as an unprivileged OS user: PostgreSQL refuses to run as root, so under root the server runs as the
  ``postgres`` user the Debian package creates (``subprocess``'s ``user=``/``group=``); otherwise as the caller;
- listening on 127.0.0.1 only, on a free port, with no Unix-domain socket (``unix_socket_directories = ''``);
- with password authentication (SCRAM) for one superuser whose random password only the tests know.

:class:`Server` makes databases (:meth:`Server.create_database`) and gives their SQLAlchemy URLs;
:meth:`Server.stop` stops the server and removes its directory. :class:`Unavailable` says why a server cannot be
had here (no binaries, no unprivileged user, no driver); the ``postgresql_server`` fixture in ``conftest.py``
turns it into a skip with that reason. A server that is found but fails to start is an error, not a skip.
"""
from __future__ import annotations

import glob
import os
import pathlib
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

SUPERUSER = "rnn_test"
INSTALL_HINT = "install Debian's postgresql package (.ci/run does when run as root)"


class Unavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why."""


def find_bindir() -> pathlib.Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None."""
    def version(path: str):
        return [int(p) for p in re.findall(r"\d+", pathlib.Path(path).parent.parent.name)] or [0]

    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True):
        bindir = pathlib.Path(initdb).parent
        if os.access(initdb, os.X_OK) and (bindir / "pg_ctl").exists():
            return bindir
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            bindir = pathlib.Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                                 check=True, timeout=30).stdout.strip())
            if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
                return bindir
        except (OSError, subprocess.SubprocessError):
            pass
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and pathlib.Path(initdb).parent == pathlib.Path(pg_ctl).parent:
        return pathlib.Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    bindir: pathlib.Path
    base: pathlib.Path        # the temporary directory: data/, server.log
    port: int
    password: str
    run_as: dict              # subprocess keyword arguments that run a command as the server's OS user

    @property
    def data(self) -> pathlib.Path:
        return self.base / "data"

    @property
    def log(self) -> pathlib.Path:
        return self.base / "server.log"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` (SQLAlchemy 2.1's driver for a plain ``postgresql://``: psycopg 3)."""
        from sqlalchemy.engine import URL

        return URL.create("postgresql", username=SUPERUSER, password=self.password, host="127.0.0.1",
                          port=self.port, database=database).render_as_string(hide_password=False)

    def _connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.password,
                               dbname=database, connect_timeout=10, autocommit=True)

    def create_database(self, prefix: str = "gradebook") -> str:
        """A new empty database; returns its URL."""
        name = f"{prefix}_{secrets.token_hex(4)}"
        con = self._connect()
        try:
            with con.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return self.url(name)

    def query(self, database_url: str, sql: str, params=()) -> list[tuple]:
        from sqlalchemy.engine import make_url

        con = self._connect(make_url(database_url).database)
        try:
            with con.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            con.close()

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                subprocess.run([str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w",
                                "-t", "60"], capture_output=True, timeout=120, **self.run_as)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _run_as() -> tuple[dict, int, int]:
    """(subprocess kwargs, uid, gid) of the unprivileged user the server runs as."""
    if os.geteuid() != 0:
        return {}, os.geteuid(), os.getegid()
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable("running as root, and there is no unprivileged 'postgres' user to run the PostgreSQL "
                          f"server as (PostgreSQL refuses to run as root); {INSTALL_HINT}") from None
    if pw.pw_uid == 0:
        raise Unavailable("the 'postgres' user is root; PostgreSQL refuses to run as root")
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}, pw.pw_uid, pw.pw_gid


def start(attempts: int = 3) -> Server:
    """Start a fresh server (see the module docstring); raises :class:`Unavailable` with the reason."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise Unavailable("the PostgreSQL driver psycopg is not installed (requirements.txt pins "
                          "psycopg[binary])") from None
    bindir = find_bindir()
    if bindir is None:
        raise Unavailable(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}")
    run_as, uid, gid = _run_as()
    # not under pytest's tmp_path: its parents are 0700 root, which the server's user cannot traverse
    base = pathlib.Path(tempfile.mkdtemp(prefix="rnn-pg-"))
    os.chown(base, uid, gid)
    os.chmod(base, 0o700)
    server = Server(bindir, base, 0, secrets.token_urlsafe(24), run_as)
    env = {"PATH": f"{bindir}{os.pathsep}/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC"}
    try:
        pwfile = base / "pwfile"
        pwfile.write_text(server.password + "\n")
        os.chown(pwfile, uid, gid)
        os.chmod(pwfile, 0o600)
        done = subprocess.run([str(bindir / "initdb"), "-D", str(server.data), "-U", SUPERUSER,
                               f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
                              capture_output=True, text=True, timeout=300, cwd=base, env=env, **run_as)
        pwfile.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")
        for _ in range(attempts):  # another process may take the free port between the probe and the start
            server.port = _free_port()
            with open(server.data / "postgresql.auto.conf", "a") as conf:  # a later line wins
                conf.write(f"listen_addresses = '127.0.0.1'\nport = {server.port}\nunix_socket_directories = ''\n"
                           "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
            done = subprocess.run([str(bindir / "pg_ctl"), "start", "-D", str(server.data), "-l", str(server.log),
                                   "-w", "-t", "120"], capture_output=True, text=True, timeout=300, cwd=base,
                                  env=env, **run_as)
            if done.returncode == 0:
                break
            if "already in use" not in server.log_tail():
                raise RuntimeError(f"pg_ctl start failed: {done.stderr[-1000:]}\n{server.log_tail()}")
        else:
            raise RuntimeError(f"pg_ctl start failed {attempts} times: {server.log_tail()}")
        deadline = time.monotonic() + 60
        while True:  # ready for TCP connections (pg_ctl -w already waited; this checks the password works)
            try:
                server._connect().close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    except BaseException:
        server.stop()
        raise
    return server
