#!/usr/bin/env python3
"""tests/support/pgserver.py — a real PostgreSQL 15 server for the tests
(issue 15): initdb/pg_ctl from /usr/lib/postgresql/15/bin in a directory of
the caller's choice, listening on a free loopback port and on a unix socket in
that directory, trust authentication for the superuser `trackrelay` (loopback
only). As root (CI), the server runs as the unprivileged `postgres` user
(runuser) and the directory is chowned to it. PostgreSQL missing or failing
to start is an error (exit 1 / PgServerError), never a skip.

Command line (the C++ fixture tests/store/pg_fixture.h uses it):
  pgserver.py start DIR        → prints the server URI; reuses a running one
  pgserver.py createdb DIR NAME → creates database NAME, prints its URI
  pgserver.py stop DIR         → stops the server (no error when none runs)
  pgserver.py destroy DIR      → stops it and deletes DIR
  pgserver.py hang DIR         → SIGSTOPs the server (see below)
  pgserver.py resume DIR       → SIGCONTs it

A server that hangs rather than refuses (a network partition, a stopped
machine: connections are accepted by the kernel, nothing answers) is
pg.hang(): SIGSTOP to the postmaster and every process it started;
pg.resume() sends SIGCONT (stop() resumes first, so a cleanup path that only
stops the server still works).

From Python (the harnesses):
  from pgserver import PgServer
  with PgServer(dir) as pg:          # start(); stop() at the end
      uri = pg.create_database("t1")  # postgresql://trackrelay@127.0.0.1:P/t1
"""
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import sys
import time

BIN = "/usr/lib/postgresql/15/bin"
SUPERUSER = "trackrelay"
RUN_AS = "postgres"  # when running as root


class PgServerError(Exception):
    pass


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One server in `directory` (DIR/data, DIR/log, DIR/uri)."""

    @classmethod
    def temporary(cls, prefix, settings=None):
        """A server in a new temporary directory of its own (the server's
        user must reach it, so not inside a test's 0700 one); destroy()
        deletes it."""
        return cls(tempfile.mkdtemp(prefix=prefix), settings)

    def __init__(self, directory, settings=None):
        self.dir = os.path.abspath(directory)
        self.data = os.path.join(self.dir, "data")
        self.settings = dict(settings or {})
        self.uri = None
        self.hung = []  # the pids hang() stopped

    # --- running commands as the server's user ---
    def _as_server(self, argv):
        if os.geteuid() == 0:
            return ["runuser", "-u", RUN_AS, "--"] + argv
        return argv

    def _run(self, argv, what):
        p = subprocess.run(self._as_server(argv), capture_output=True, text=True,
                           cwd=self.dir, check=False)
        if p.returncode != 0:
            raise PgServerError("%s failed (exit %d): %s%s" % (what, p.returncode, p.stdout,
                                                             p.stderr))
        return p.stdout

    def _prepare_dir(self):
        if not os.path.exists(os.path.join(BIN, "initdb")):
            raise PgServerError("PostgreSQL 15 is not installed (%s/initdb missing): "
                                "apt-get install postgresql-15" % BIN)
        os.makedirs(self.dir, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            os.chmod(self.dir, 0o755)

    def _uri_file(self):
        return os.path.join(self.dir, "uri")

    def running(self):
        if not os.path.exists(os.path.join(self.data, "postmaster.pid")):
            return False
        p = subprocess.run(self._as_server([BIN + "/pg_ctl", "-D", self.data, "status"]),
                           capture_output=True, text=True, check=False)
        return p.returncode == 0 and os.path.exists(self._uri_file())

    def start(self):
        """Starts the server (or finds it running); returns its URI."""
        self._prepare_dir()
        with open(os.path.join(self.dir, ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.running():
                with open(self._uri_file()) as f:
                    self.uri = f.read().strip()
                return self.uri
            if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
                shutil.rmtree(self.data, ignore_errors=True)
                self._run([BIN + "/initdb", "-D", self.data, "-U", SUPERUSER, "-A", "trust",
                           "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], "initdb")
            last = None
            for _ in range(3):  # a port taken between probe and bind: try another
                port = _free_port()
                try:
                    self._start_on(port)
                    break
                except PgServerError as e:
                    last = e
            else:
                raise last
            self.uri = "postgresql://%s@127.0.0.1:%d/postgres" % (SUPERUSER, port)
            with open(self._uri_file(), "w") as f:
                f.write(self.uri + "\n")
            return self.uri

    def _start_on(self, port):
        opts = ["-p", str(port), "-k", self.dir, "-c", "listen_addresses=127.0.0.1",
                "-c", "max_connections=200"]
        for k, v in self.settings.items():
            opts += ["-c", "%s=%s" % (k, v)]
        log = os.path.join(self.dir, "log")
        p = subprocess.run(self._as_server([BIN + "/pg_ctl", "-D", self.data, "-l", log, "-w",
                                            "-t", "60", "-o", " ".join(opts), "start"]),
                           capture_output=True, text=True, cwd=self.dir, check=False)
        if p.returncode != 0:
            tail = ""
            if os.path.exists(log):
                with open(log, errors="replace") as f:
                    tail = f.read()[-2000:]
            raise PgServerError("pg_ctl start failed (exit %d): %s%s%s" %
                                (p.returncode, p.stdout, p.stderr, tail))

    def _server_pids(self):
        """The postmaster's pid, then its children's (backends, checkpointer, …)."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        pids = [postmaster]
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
            except OSError:
                continue  # exited meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                pids.append(int(entry))
        return pids

    def hang(self):
        """Freezes the server: SIGSTOP to the postmaster first (so it starts
        no new backend), then to every process it started. New connections
        still complete their TCP handshake (the kernel's backlog) and get no
        answer; open sessions get none either. Pair with resume()."""
        postmaster = self._server_pids()[0]
        os.kill(postmaster, signal.SIGSTOP)
        self.hung = [postmaster]
        for pid in self._server_pids()[1:]:
            try:
                os.kill(pid, signal.SIGSTOP)
                self.hung.append(pid)
            except ProcessLookupError:
                pass

    def resume(self):
        """SIGCONT to every process hang() stopped, and to every process of
        the server (a hang() by another process: `pgserver.py hang DIR`)."""
        pids = list(self.hung)
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            try:
                pids = self._server_pids() + pids
            except (OSError, ValueError):
                pass
        for pid in reversed(pids):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.hung = []

    def stop(self, mode="fast"):
        """Stops the server (resuming it first if it hangs); no error when
        none runs."""
        self.resume()
        if not os.path.exists(os.path.join(self.data, "postmaster.pid")):
            return
        self._run([BIN + "/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"], "pg_ctl stop")
        if os.path.exists(self._uri_file()):
            os.unlink(self._uri_file())

    def destroy(self):
        """Stops the server and deletes its directory (data, log, socket);
        immediate shutdown: nothing in it is kept, so no checkpoint."""
        self.stop(mode="immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql, database="postgres"):
        """Runs `sql` with psql as the superuser; returns its output."""
        uri = self._database_uri(database)
        p = subprocess.run([BIN + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", uri, "-c", sql], capture_output=True, text=True, check=False)
        if p.returncode != 0:
            raise PgServerError("psql failed: %s%s" % (p.stdout, p.stderr))
        return p.stdout.strip()

    def _database_uri(self, name):
        if self.uri is None:
            raise PgServerError("the server is not started")
        return self.uri.rsplit("/", 1)[0] + "/" + name

    def create_database(self, name):
        """Creates database `name` (dropping an old one); returns its URI."""
        self.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        self.psql('CREATE DATABASE "%s" STRATEGY FILE_COPY' % name)
        return self._database_uri(name)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    if len(argv) < 3 or argv[1] not in ("start", "stop", "destroy", "createdb", "hang",
                                        "resume"):
        sys.stderr.write("usage: pgserver.py start DIR | createdb DIR NAME | stop DIR | "
                         "destroy DIR | hang DIR | resume DIR\n")
        return 2
    server = PgServer(argv[2])
    try:
        if argv[1] == "start":
            print(server.start())
        elif argv[1] == "stop":
            server.stop()
        elif argv[1] == "destroy":
            server.destroy()
        elif argv[1] == "hang":
            server.hang()
        elif argv[1] == "resume":
            server.resume()
        else:
            if len(argv) != 4:
                sys.stderr.write("usage: pgserver.py createdb DIR NAME\n")
                return 2
            server.start()
            print(server.create_database(argv[3]))
    except (PgServerError, OSError) as e:
        sys.stderr.write("pgserver.py: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
