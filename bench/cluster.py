"""Several app processes on one machine as on several: PostgreSQL, Redis, N app processes
(README's production command each) and nginx in front (deploy/cnnview.conf), all from
Debian's packages, in one folder. What tests/test_cluster.py and scripts/cluster.sh run.

    python -m bench.cluster start --processes 3 --folder instance/cluster [--port 8080]
    python -m bench.cluster stop --folder instance/cluster
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from bench.load import free_port, start_server
from bench.services import Nginx, Postgres, Redis


class Cluster:
    def __init__(self, folder, processes=3, port=None, env=None):
        self.folder = Path(folder)
        self.postgres = Postgres(self.folder / "postgres")
        self.redis = Redis(self.folder / "redis")
        self.ports = [free_port() for _ in range(processes)]
        self.nginx = Nginx(self.folder / "nginx", self.ports, port)
        self.env = env or {}
        self.apps = {}  # port → process

    def app_env(self):
        return {
            "CNNVIEW_DATABASE_URL": self.postgres.url(),
            "CNNVIEW_MESSAGE_QUEUE": self.redis.url(),
            "CNNVIEW_TRUSTED_PROXIES": "1",
            **self.env,
        }

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chmod(self.folder, 0o711)  # PostgreSQL runs as `postgres`: it must reach its folder
        self.postgres.start()
        self.redis.start()
        # The first process creates the tables; the others then start together.
        self.start_app(self.ports[0])
        threads = [threading.Thread(target=self.start_app, args=(port,)) for port in self.ports[1:]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        missing = [port for port in self.ports if port not in self.apps]
        if missing:
            raise RuntimeError(f"app processes on ports {missing} did not start: see {self.folder}/app-*.log")
        self.nginx.start()
        return self

    def start_app(self, port):
        process, _ = start_server(port, env=self.app_env(), log=self.folder / f"app-{port}.log", wait=240)
        self.apps[port] = process

    def url(self, port=None):
        """Through nginx, or straight to the app process on `port`."""
        return f"http://127.0.0.1:{port}" if port else self.nginx.url()

    def kill(self, port):
        """SIGKILL to an app process (gunicorn's master and its worker): no goodbye to anyone."""
        from bench.load import server_pids

        process = self.apps.pop(port)
        for pid in reversed(server_pids(process.pid)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(10)

    def stop(self):
        self.nginx.stop()
        for process in self.apps.values():
            process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: no 30 s wait for open WebSockets
        for process in self.apps.values():
            process.wait(30)
        self.apps = {}
        self.redis.stop()
        if self.postgres.data.exists():
            self.postgres.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--folder", default="instance/cluster")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port")
    args = parser.parse_args(argv)
    folder = Path(args.folder).resolve()
    if args.action == "stop":
        return stop_recorded(folder)
    cluster = Cluster(folder, args.processes, args.port).start()
    pids = {"apps": [p.pid for p in cluster.apps.values()], "nginx": cluster.nginx.process.pid, "redis": cluster.redis.process.pid}
    (folder / "pids.json").write_text(json.dumps({**pids, "postgres_data": str(cluster.postgres.data), "postgres_bin": str(cluster.postgres.bin)}))
    print(f"serving on {cluster.url()} ({args.processes} app processes on ports {cluster.ports}); "
          f"PostgreSQL {cluster.postgres.url()}, Redis {cluster.redis.url()}; stop: bash scripts/cluster.sh stop")
    return 0


def stop_recorded(folder):
    """Stop what `start` left running (it recorded the process ids)."""
    record = folder / "pids.json"
    if not record.exists():
        print(f"nothing recorded in {folder}: not started?", file=sys.stderr)
        return 1
    pids = json.loads(record.read_text())
    for pid in [*pids["apps"], pids["redis"]]:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        os.kill(pids["nginx"], signal.SIGQUIT)
    except ProcessLookupError:
        pass
    postgres = Postgres(folder / "postgres")
    postgres.stop()
    record.unlink()
    time.sleep(1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
