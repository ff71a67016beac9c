#!/usr/bin/env python3
"""tests/pkg/sandbox_install.py — installs a trackrelay .deb into a throwaway
copy of this machine and reports what it finds, as one JSON object on the
last line of standard output. package_test.py runs it as root inside
`unshare --mount --net` and asserts on the report.

The throwaway root: a tmpfs (private to the new mount namespace) holding an
overlayfs whose lower layer is / and whose upper layer is in the tmpfs;
/dev and /proc are bound in, and the script chroots into it. dpkg's
database, /etc, /var and the new user all change in the upper layer only, so
the host is untouched and everything vanishes with the namespace. (A
debootstrap chroot would need a Debian mirror and minutes; `dpkg --root`
runs maintainer scripts chrooted into a root that has no /bin/sh.) The new
network namespace has only its own loopback, so the package's fixed ports
(10025, 10026, 8080, 8025) never clash with other tests.

Usage: sandbox_install.py DEB SANDBOX_DIR   (as root, in new mount+net namespaces)
"""
import glob
import http.client
import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import time

CONFIG = "/etc/trackrelay/trackrelay.yaml"
REPORT = {}
# The service's user, as systemd would run it (User=/Group=trackrelay).
AS_TRACKRELAY = ["setpriv", "--reuid=trackrelay", "--regid=trackrelay", "--init-groups", "--"]


def run(*cmd, stdin=None, timeout=60):
    if not shutil.which(cmd[0], path="/usr/sbin:/usr/bin:/sbin:/bin"):
        return {"rc": 127, "out": "", "err": "%s: not found" % cmd[0]}
    p = subprocess.run(list(cmd), input=stdin, capture_output=True, text=True,
                       timeout=timeout, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                             "DEBIAN_FRONTEND": "noninteractive",
                                             "LANG": "C.UTF-8", "MANWIDTH": "80"})
    return {"rc": p.returncode, "out": p.stdout, "err": p.stderr}


def stat(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    import grp
    import pwd
    return {"mode": "%04o" % (st.st_mode & 0o7777), "user": pwd.getpwuid(st.st_uid).pw_name,
            "group": grp.getgrgid(st.st_gid).gr_name, "size": st.st_size}


def enter_sandbox(deb, top):
    with open(deb, "rb") as f:  # before a tmpfs may hide it
        package = f.read()
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m", "tmpfs", top], check=True)
    for d in ("upper", "work", "root"):
        os.mkdir(os.path.join(top, d))
    root = os.path.join(top, "root")
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    "lowerdir=/,upperdir=%s/upper,workdir=%s/work" % (top, top), root], check=True)
    subprocess.run(["mount", "--rbind", "/dev", root + "/dev"], check=True)
    subprocess.run(["mount", "-t", "proc", "proc", root + "/proc"], check=True)
    # A fresh /tmp and /run: nothing of the host's sockets or locks.
    for d in ("/tmp", "/run"):
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", root + d], check=True)
    with open(root + "/tmp/trackrelay.deb", "wb") as f:
        f.write(package)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    os.chroot(root)
    os.chdir("/")


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


MESSAGE = """From: Sender <sender@example.com>
To: rcpt@example.net
Subject: package test
Message-ID: <pkg-test-1@example.com>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><p><a href="https://www.example.org/welcome">welcome</a></p></body></html>
"""


def declare_sending_domain():
    """What an operator does after installing: declare a tracking domain and
    the sending domain whose mail it tracks (tracking.senders: declared, the
    default, tracks only declared senders' mail; everything else, such as
    inbound mail, passes through untouched)."""
    with open(CONFIG) as f:
        text = f.read()
    text = text.replace("tracking:\n", "tracking:\n"
                        "  tracking_domains: [{domain: click.example.com}]\n"
                        "  sending_domains: [{domain: example.com,"
                        " tracking_domain: click.example.com}]\n", 1)
    with open(CONFIG, "w") as f:
        f.write(text)


def relay_one_message():
    declare_sending_domain()
    os.makedirs("/tmp/sink", mode=0o777)
    os.chmod("/tmp/sink", 0o777)
    sink = subprocess.Popen(["smtp-sink", "-u", "nobody", "-d", "/tmp/sink/%H%M%S.",
                             "127.0.0.1:10026", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # setpriv execs trackrelay itself (runuser would stay the parent, turn
    # SIGTERM into SIGKILL after 2 s and exit with the signal).
    serve = subprocess.Popen(AS_TRACKRELAY + ["/usr/sbin/trackrelay", "--config", CONFIG, "serve"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        REPORT["sink_up"] = wait_port(10026)
        REPORT["relay_up"] = wait_port(10025)
        REPORT["track_up"] = wait_port(8080)
        if REPORT["relay_up"]:
            with smtplib.SMTP("127.0.0.1", 10025, timeout=30) as s:
                REPORT["send_refused"] = s.sendmail("sender@example.com", ["rcpt@example.net"],
                                                    MESSAGE.replace("\n", "\r\n"))
        dumped = []
        deadline = time.time() + 20
        while not dumped and time.time() < deadline:
            dumped = glob.glob("/tmp/sink/*")
            time.sleep(0.2)
        time.sleep(0.3)  # smtp-sink writes the file while the transaction ends
        REPORT["sink_files"] = len(dumped)
        REPORT["sink_message"] = open(dumped[0], errors="replace").read() if dumped else ""
        # The tracked link's redirect: the endpoint verifies the token with the
        # generated secret and records the click in /var/lib/trackrelay.
        import re
        m = re.search(r'http://click\.example\.com(/f/[A-Za-z0-9_=.-]+)', REPORT["sink_message"])
        REPORT["tracked_path"] = m.group(1) if m else None
        if m and REPORT["track_up"]:
            c = http.client.HTTPConnection("127.0.0.1", 8080, timeout=10)
            c.request("GET", m.group(1), headers={"Host": "click.example.com"})
            r = c.getresponse()
            REPORT["click_status"] = r.status
            REPORT["click_location"] = r.getheader("Location")
            c.close()
    finally:
        serve.terminate()
        try:
            out, _ = serve.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
            out, _ = serve.communicate()
        REPORT["serve_rc"] = serve.returncode
        REPORT["serve_log"] = out[-4000:]
        sink.kill()
        sink.wait()
    REPORT["store"] = stat("/var/lib/trackrelay/trackrelay.db")
    REPORT["events"] = run(*AS_TRACKRELAY, "/usr/sbin/trackrelay", "--config", CONFIG, "events",
                           "--json")


def main():
    deb, top = sys.argv[1], sys.argv[2]
    enter_sandbox(deb, top)
    REPORT["user_before"] = run("getent", "passwd", "trackrelay")["rc"] == 0
    REPORT["install"] = run("dpkg", "-i", "/tmp/trackrelay.deb", timeout=300)
    REPORT["user"] = run("getent", "passwd", "trackrelay")["out"].strip()
    REPORT["group"] = run("getent", "group", "trackrelay")["out"].strip()
    for path in ("/usr/sbin/trackrelay", "/etc/trackrelay", "/etc/trackrelay/secret", CONFIG,
                 "/var/lib/trackrelay", "/lib/systemd/system/trackrelay.service",
                 "/etc/systemd/system/multi-user.target.wants/trackrelay.service",
                 "/usr/share/doc/trackrelay/trackrelay.example.yaml",
                 "/usr/share/doc/trackrelay/copyright",
                 "/usr/share/man/man8/trackrelay.8.gz", "/usr/share/man/man5/trackrelay.yaml.5.gz"):
        REPORT["stat:" + path] = stat(path)
    REPORT["secret_bytes"] = len(open("/etc/trackrelay/secret", "rb").read().strip()) \
        if os.path.exists("/etc/trackrelay/secret") else 0
    REPORT["secret_as_nobody"] = run("runuser", "-u", "nobody", "--", "cat",
                                     "/etc/trackrelay/secret")["rc"]
    REPORT["conffiles"] = run("dpkg-query", "--showformat=${Conffiles}", "--show",
                              "trackrelay")["out"]
    unit = "/lib/systemd/system/trackrelay.service"
    REPORT["unit"] = open(unit).read() if os.path.exists(unit) else ""
    REPORT["check"] = run(*AS_TRACKRELAY, "/usr/sbin/trackrelay", "--config", CONFIG, "check")
    REPORT["version"] = run("/usr/sbin/trackrelay", "--version")["out"].strip()
    for page in ("/usr/share/man/man8/trackrelay.8.gz", "/usr/share/man/man5/trackrelay.yaml.5.gz"):
        REPORT["man:" + page] = run("man", "--warnings", "-l", page)
    if REPORT["install"]["rc"] == 0:
        relay_one_message()
    REPORT["remove"] = run("dpkg", "--remove", "trackrelay", timeout=120)
    REPORT["after_remove"] = {p: os.path.exists(p) for p in (
        "/usr/sbin/trackrelay", "/var/lib/trackrelay", "/var/lib/trackrelay/trackrelay.db",
        "/etc/trackrelay/secret", CONFIG)}
    REPORT["purge"] = run("dpkg", "--purge", "trackrelay", timeout=120)
    REPORT["after_purge"] = {p: os.path.exists(p) for p in (
        "/var/lib/trackrelay", "/etc/trackrelay/secret", CONFIG, "/etc/trackrelay")}
    print(json.dumps(REPORT))


if __name__ == "__main__":
    main()
