"""Throwaway PostgreSQL, Redis and nginx servers from Debian's packages, each in a folder of
its own on a free port: what the cluster tests, the cluster benchmark and
scripts/cluster.sh run the app against. Nothing is installed or configured system-wide."""
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench.load import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX_SITE = ROOT / "deploy" / "cnnview.conf"


def postgres_bin():
    """The folder of Debian's newest PostgreSQL server programs, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing() -> list:
    """The programs these servers need that this machine lacks."""
    absent = [] if postgres_bin() else ["PostgreSQL (initdb, pg_ctl)"]
    return absent + [name for name in ("redis-server", "redis-cli", "nginx") if not shutil.which(name)]


def as_unprivileged():
    """initdb and postgres refuse to run as root: run them as Debian's `postgres` user."""
    if os.geteuid() != 0:
        return [], None
    user = pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"], user


class Postgres:
    """A database cluster in `folder` on 127.0.0.1:`port`, trust authentication for the user
    `cnnview`: url() is CNNVIEW_DATABASE_URL."""

    def __init__(self, folder, port=None):
        self.folder, self.port = Path(folder), port or free_port()
        self.data = self.folder / "data"
        self.bin = postgres_bin()
        self.prefix, self.user = as_unprivileged()

    def url(self, database="cnnview"):
        return f"postgresql://cnnview@127.0.0.1:{self.port}/{database}"

    def _run(self, *command, check=True):
        done = subprocess.run([*self.prefix, *command], capture_output=True, text=True)
        if check and done.returncode:
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-1500:]}")
        return done

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        if not self.data.exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "cnnview", "--auth=trust", "-E", "UTF8", "--no-instructions")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder}"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w", "-t", "60", "start")
        self.create("cnnview")
        return self

    def psql(self, sql, database="cnnview"):
        """What psql prints for `sql`: unaligned, tuples only."""
        psql = self.bin / "psql"
        return self._run(str(psql), "-h", "127.0.0.1", "-p", str(self.port), "-U", "cnnview", "-d", database, "-At", "-c", sql).stdout

    def create(self, database):
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'", "postgres").strip():
            self.psql(f'CREATE DATABASE "{database}"', "postgres")
        return self.url(database)

    def stop(self):
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)


class Redis:
    """redis-server in `folder` on 127.0.0.1:`port`, in the foreground (a child of ours)."""

    def __init__(self, folder, port=None):
        self.folder, self.port = Path(folder), port or free_port()
        self.process = None

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                   "--save", "", "--appendonly", "no", "--logfile", str(self.folder / "redis.log")]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.ping(), f"redis on port {self.port}")
        return self

    def ping(self) -> bool:
        answer = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
        return answer.stdout.strip() == "PONG"

    def subscribers(self, channel) -> int:
        """How many connections (one per app process) listen on `channel`."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), "pubsub", "numsub", channel], capture_output=True, text=True).stdout
        return int(out.split()[1])

    def stats(self) -> dict:
        """Redis's INFO counters (commands processed, bytes in and out, ...)."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), "info", "stats"], capture_output=True, text=True).stdout
        return {k: int(v) for k, v in (line.split(":", 1) for line in out.split() if ":" in line) if v.isdigit()}

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class Nginx:
    """nginx on 127.0.0.1:`port` with deploy/cnnview.conf, its upstream list replaced by
    `backends` (ports): the site config the README tells people to install, as shipped."""

    def __init__(self, folder, backends, port=None):
        self.folder, self.backends, self.port = Path(folder), list(backends), port or free_port()
        self.process = None

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        site = NGINX_SITE.read_text()
        servers = "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n" for port in self.backends)
        site = re.sub(r"(    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, site)
        site = re.sub(r"listen \d+;", f"listen 127.0.0.1:{self.port};", site)
        temp = " ".join(f"{kind}_temp_path {self.folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;" if os.geteuid() == 0 else ""  # workers read nothing but this folder
        return (f"{user}\nworker_processes 1;\npid {self.folder / 'nginx.pid'};\nerror_log {self.folder / 'error.log'} warn;\n"
                f"events {{ worker_connections 4096; }}\nhttp {{\n access_log off;\n {temp}\n{site}\n}}\n")

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "nginx.conf").write_text(self.config())
        command = ["nginx", "-p", str(self.folder), "-c", str(self.folder / "nginx.conf"), "-g", "daemon off;"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(self.folder / "stderr.log", "wb"))
        wait_for(lambda: port_open(self.port) or self.process.poll() is not None, f"nginx on port {self.port}")
        if self.process.poll() is not None:
            raise RuntimeError("nginx did not start: " + (self.folder / "stderr.log").read_text()[-2000:])
        return self

    def stop(self):
        if self.process is not None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finishes what it is sending
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def port_open(port) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, what, seconds=30):
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline:
            raise RuntimeError(f"{what} did not start within {seconds} s")
        time.sleep(0.1)
