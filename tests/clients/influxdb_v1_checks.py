"""The python `influxdb` client (1.x API, unmodified from PyPI) against
tandem: the DDL it uses to prepare writes, write_points with every
consistency level and precision, line-protocol batches, gzip, retention
policies, and errors surfacing as InfluxDBClientError with influxd's codes
(InfluxDBServerError for 5xx). A recording proxy shows what it sends.
"""

import time
import urllib.parse

from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError, InfluxDBServerError

from harness import RecordingProxy, expect_raises, wait_stored

DB = "pyv1"
T = 1_700_000_000_000_000_000
# Inside the 7-day retention policy `week`.
RECENT = (int(time.time()) - 3600) * 10**9


def client_for(url, **kw):
    parts = urllib.parse.urlsplit(url)
    kw.setdefault("retries", 1)
    kw.setdefault("timeout", 30)
    return InfluxDBClient(host=parts.hostname, port=parts.port, **kw)


def run(checks, urls, auth_url):
    proxy = RecordingProxy(urls[0])
    c = client_for(proxy.url, database=DB)

    def ping():
        version = c.ping()
        assert "tandem" in version, version

    def create_database():
        c.create_database(DB)
        assert {"name": DB} in c.get_list_database(), c.get_list_database()
        create = [r for r in proxy.take("/query") if "CREATE" in r.query().get("q", "")]
        assert create and create[0].method == "POST", [(r.method, r.path) for r in create]
        assert create[0].query()["q"] == 'CREATE DATABASE "pyv1"', create[0].query()

    def retention_policy():
        c.create_retention_policy("week", "7d", 3, database=DB, shard_duration="1d")
        rps = {rp["name"]: rp for rp in c.get_list_retention_policies(DB)}
        assert rps["week"]["duration"] == "168h0m0s", rps
        assert rps["week"]["replicaN"] == 3, rps
        assert rps["autogen"]["default"] is True, rps

    def write_points_each_consistency():
        lines = []
        for i, level in enumerate(["any", "one", "quorum", "all", None]):
            name = level or "default"
            point = {
                "measurement": "cons",
                "tags": {"level": name},
                "fields": {"value": 1.5, "n": i},
                "time": T + i,
            }
            assert c.write_points([point], consistency=level) is True
            lines.append("cons,level=%s n=%di,value=1.5 %d" % (name, i, T + i))
        for r in proxy.take("/write"):
            # What the 1.x client really sends, accepted as it is.
            assert r.status == 204, r.status
            assert r.header("Content-Type") == "application/octet-stream", r.headers
            assert r.header("Accept") == "application/x-msgpack", r.headers
            assert (r.header("Authorization") or "").startswith("Basic "), r.headers
        wait_stored(urls, DB, lines)

    def write_points_each_precision():
        seconds = 1_700_000_000
        cases = [
            ("n", seconds * 10**9 + 7, 1),
            ("u", seconds * 10**6 + 7, 10**3),
            ("ms", seconds * 10**3 + 7, 10**6),
            ("s", seconds + 7, 10**9),
            ("m", seconds // 60, 60 * 10**9),
            ("h", seconds // 3600, 3600 * 10**9),
        ]
        lines = []
        for p, ts, unit in cases:
            point = {"measurement": "prec", "tags": {"p": p}, "fields": {"v": 1}, "time": ts}
            assert c.write_points([point], time_precision=p) is True
            lines.append("prec,p=%s v=1i %d" % (p, ts * unit))
        sent = proxy.take("/write")
        assert [r.query().get("precision") for r in sent] == [p for p, _, _ in cases], [r.path for r in sent]
        wait_stored(urls, DB, lines)

    def line_protocol_batches():
        lines = ["batch,host=h%d value=%di %d" % (i % 7, i, T + i) for i in range(1000)]
        assert c.write_points(lines, protocol="line", batch_size=300) is True
        sent = proxy.take("/write")
        assert len(sent) == 4, len(sent)
        wait_stored(urls, DB, lines)

    def retention_policy_writes():
        point = {"measurement": "inweek", "fields": {"v": 2.5}, "time": RECENT}
        assert c.write_points([point], retention_policy="week", consistency="all") is True
        assert proxy.take("/write")[0].query()["rp"] == "week"
        wait_stored(urls, DB, ["inweek v=2.5 %d" % RECENT], rp="week")

    def gzip_writes():
        gz = client_for(proxy.url, database=DB, gzip=True)
        point = {"measurement": "zipped", "fields": {"s": "a \"quoted\" string"}, "time": T}
        assert gz.write_points([point]) is True
        sent = proxy.take("/write")
        assert sent[0].header("Content-Encoding") == "gzip", sent[0].headers
        assert sent[0].body[:2] == b"\x1f\x8b", sent[0].body[:10]
        wait_stored(urls, DB, ['zipped s="a \\"quoted\\" string" %d' % T])

    def other_nodes_accept_writes():
        for i, url in enumerate(urls):
            other = client_for(url, database=DB)
            assert other.write_points(["nodes,via=n%d v=1 %d" % (i, T)], protocol="line", consistency="quorum")
        wait_stored(urls, DB, ["nodes,via=n%d v=1 %d" % (i, T) for i in range(len(urls))])

    def error_database_not_found():
        e = expect_raises(InfluxDBClientError, lambda: c.write_points(["x v=1"], protocol="line", database="nope"))
        assert e.code == 404, e.code
        assert 'database not found: \\"nope\\"' in str(e.content), e.content

    def error_parse():
        e = expect_raises(InfluxDBClientError, lambda: c.write_points(["cpu"], protocol="line"))
        assert e.code == 400, e.code
        assert "unable to parse 'cpu': missing fields" in str(e.content), e.content

    def error_partial_write_keeps_valid_points():
        e = expect_raises(
            InfluxDBClientError,
            lambda: c.write_points(["partial v=1 %d" % T, "partial"], protocol="line"),
        )
        assert e.code == 400, e.code
        assert "partial write: unable to parse 'partial': missing fields dropped=0" in str(e.content), e.content
        wait_stored(urls, DB, ["partial v=1 %d" % T])

    def error_type_conflict():
        c.write_points(["conflict v=1 %d" % T], protocol="line")
        e = expect_raises(InfluxDBClientError, lambda: c.write_points(["conflict v=1i %d" % (T + 1)], protocol="line"))
        assert e.code == 400, e.code
        assert "field type conflict" in str(e.content), e.content

    def error_invalid_consistency_from_server():
        # The client refuses unknown levels itself; its low-level write
        # passes any parameter through, so the server's answer shows too.
        expect_raises(ValueError, lambda: c.write_points(["x v=1"], protocol="line", consistency="two"))
        e = expect_raises(
            InfluxDBClientError,
            lambda: c.write(["x v=1"], params={"db": DB, "consistency": "two"}, protocol="line"),
        )
        assert e.code == 400 and "invalid consistency level" in str(e.content), (e.code, e.content)

    def error_retention_policy_not_found():
        e = expect_raises(
            InfluxDBServerError,
            lambda: c.write_points(["x v=1"], protocol="line", retention_policy="nope"),
        )
        assert "retention policy not found: nope" in str(e), e

    def error_unsupported_query():
        e = expect_raises(InfluxDBClientError, lambda: c.query("SELECT * FROM cons"))
        assert e.code == 400, e.code
        assert "SELECT is not supported: tandem is a write cluster" in str(e.content), e.content

    for name, fn in [
        ("ping", ping),
        ("create_database", create_database),
        ("create_retention_policy", retention_policy),
        ("write_points with each consistency", write_points_each_consistency),
        ("write_points with each time_precision", write_points_each_precision),
        ("line protocol batches", line_protocol_batches),
        ("write_points to a retention policy", retention_policy_writes),
        ("gzip=True", gzip_writes),
        ("writes through every node", other_nodes_accept_writes),
        ("404 database not found", error_database_not_found),
        ("400 parse error", error_parse),
        ("400 partial write", error_partial_write_keeps_valid_points),
        ("400 field type conflict", error_type_conflict),
        ("400 invalid consistency", error_invalid_consistency_from_server),
        ("500 retention policy not found", error_retention_policy_not_found),
        ("400 unsupported query", error_unsupported_query),
    ]:
        proxy.take()
        checks.run("influxdb " + name, fn)
    proxy.close()
    run_auth(checks, auth_url)


def run_auth(checks, url):
    """A node with auth on and no users yet."""
    admin = client_for(url, username="admin", password="admin", database="secure")

    def first_admin_then_ddl():
        admin.create_user("admin", "admin", admin=True)
        admin.create_database("secure")
        admin.create_user("bob", "bob")
        admin.grant_privilege("read", "secure", "bob")
        users = {u["user"]: u["admin"] for u in admin.get_list_users()}
        assert users == {"admin": True, "bob": False}, users

    def admin_writes():
        assert admin.write_points(["sec v=1 %d" % T], protocol="line") is True

    def wrong_password_401():
        bad = client_for(url, username="admin", password="wrong", database="secure")
        e = expect_raises(InfluxDBClientError, lambda: bad.write_points(["sec v=1"], protocol="line"))
        assert e.code == 401 and "authorization failed" in str(e.content), (e.code, e.content)

    def no_write_privilege_403():
        bob = client_for(url, username="bob", password="bob", database="secure")
        e = expect_raises(InfluxDBClientError, lambda: bob.write_points(["sec v=2"], protocol="line"))
        assert e.code == 403, e.code
        assert '\\"bob\\" user is not authorized to write to database \\"secure\\"' in str(e.content), e.content
        admin.grant_privilege("write", "secure", "bob")
        assert bob.write_points(["sec,by=bob v=2 %d" % T], protocol="line") is True
        wait_stored_auth(url, ["sec v=1 %d" % T, "sec,by=bob v=2 %d" % T])

    def non_admin_ddl_403():
        bob = client_for(url, username="bob", password="bob")
        e = expect_raises(InfluxDBClientError, lambda: bob.create_database("x"))
        assert e.code == 403 and "requires admin privilege" in str(e.content), (e.code, e.content)

    for name, fn in [
        ("auth: first admin and DDL", first_admin_then_ddl),
        ("auth: admin writes", admin_writes),
        ("auth: 401 wrong password", wrong_password_401),
        ("auth: 403 without write privilege, then granted", no_write_privilege_403),
        ("auth: 403 DDL by a non-admin", non_admin_ddl_403),
    ]:
        checks.run("influxdb " + name, fn)


def wait_stored_auth(url, lines):
    import requests

    r = requests.get(url + "/export", params={"db": "secure", "u": "admin", "p": "admin"}, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    got = set(x for x in r.text.split("\n") if x)
    assert set(lines) <= got, (lines, got)
