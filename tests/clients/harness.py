"""What the client checks share: a recording HTTP proxy (to see what an
unmodified client really sends), a check runner that prints
'N passed, N failed', and read-back of stored points through tandem's
/export on every node.

Standard library and `requests` (a dependency of the `influxdb` client) only.
"""

import http.client
import http.server
import threading
import time
import traceback
import urllib.parse

import requests


class Recorded:
    """One request as the client sent it, and the status it got back."""

    def __init__(self, method, path, headers, body, status):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.status = status

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def query(self):
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))


class RecordingProxy:
    """Forwards every request to `target` (host, port) unchanged and keeps
    a copy of it. Use `url` as the client's server address."""

    def __init__(self, target_url):
        parts = urllib.parse.urlsplit(target_url)
        target = (parts.hostname, parts.port)
        self.requests = []
        lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = [(k, v) for k, v in self.headers.items()]
                conn = http.client.HTTPConnection(*target, timeout=60)
                send = {k: v for k, v in headers if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=send)
                resp = conn.getresponse()
                data = resp.read()
                with lock:
                    proxy.requests.append(Recorded(self.command, self.path, headers, body, resp.status))
                self.send_response_only(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_HEAD = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, path_prefix=None):
        """The requests recorded since the last take (optionally only those
        whose path starts with `path_prefix`)."""
        got, self.requests = self.requests, []
        if path_prefix is not None:
            got = [r for r in got if r.path.startswith(path_prefix)]
        return got

    def close(self):
        self.server.shutdown()


class Checks:
    """Runs named checks; a failing check is reported, the others still run."""

    def __init__(self, suite):
        self.suite = suite
        self.passed = 0
        self.failed = []

    def run(self, name, fn):
        try:
            fn()
        except Exception:  # noqa: BLE001 -- any failure is the check's result
            self.failed.append(name)
            print("FAIL %s: %s" % (self.suite, name))
            traceback.print_exc()
        else:
            self.passed += 1
            print("ok   %s: %s" % (self.suite, name))


def expect_raises(exc_type, fn):
    """Calls fn, which must raise exc_type; returns the exception."""
    try:
        fn()
    except exc_type as e:
        return e
    raise AssertionError("expected %s" % exc_type.__name__)


def exported(url, db, rp=None, scope="local"):
    """The lines /export returns for db on the node at url."""
    params = {"db": db, "scope": scope}
    if rp:
        params["rp"] = rp
    r = requests.get(url + "/export", params=params, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    return set(line for line in r.text.split("\n") if line)


def wait_stored(urls, db, lines, rp=None, limit=20.0):
    """Waits until every node's local copy and cluster view of db hold
    every line of `lines` (export format); fails with what is missing."""
    want = set(lines)
    deadline = time.time() + limit
    while True:
        missing = {}
        for url in urls:
            for scope in ("local", "cluster"):
                lack = want - exported(url, db, rp, scope)
                if lack:
                    missing[(url, scope)] = sorted(lack)[:5]
        if not missing:
            return
        if time.time() > deadline:
            raise AssertionError("not stored after %.0fs: %r" % (limit, missing))
        time.sleep(0.1)
