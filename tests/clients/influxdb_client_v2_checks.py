"""The python `influxdb-client` (2.x API, unmodified from PyPI) against
tandem's /api/v2/write: WriteApi synchronous and batching, gzip on,
bucket="db/rp" (and "db", "db/"), every write precision, Point / line /
dict records, and errors as ApiException with the right status. A
recording proxy shows what it sends.
"""

import threading
import time
import urllib.parse

import requests
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS, WriteOptions
from influxdb_client.rest import ApiException

from harness import RecordingProxy, expect_raises, wait_stored

DB = "pyv2"
T = 1_700_000_000_000_000_000
# Inside the 7-day retention policy `week`.
RECENT = (int(time.time()) - 3600) * 10**9


def ddl(url, q, auth=None):
    params = {"q": q}
    if auth:
        params.update(u=auth[0], p=auth[1])
    r = requests.post(url + "/query", params=params, timeout=30)
    assert r.status_code == 200 and '"error"' not in r.text, (q, r.status_code, r.text)


def run(checks, urls, auth_url):
    ddl(urls[0], "CREATE DATABASE pyv2 WITH REPLICATION 3; CREATE RETENTION POLICY week ON pyv2 DURATION 7d REPLICATION 3")
    proxy = RecordingProxy(urls[0])
    client = InfluxDBClient(url=proxy.url, token="my-token", org="my-org", enable_gzip=True, timeout=30_000)
    sync = client.write_api(write_options=SYNCHRONOUS)

    def ping_and_version():
        assert client.ping() is True
        assert "tandem" in client.version(), client.version()

    def synchronous_bucket_forms():
        lines = []
        for i, bucket in enumerate(["pyv2/autogen", "pyv2", "pyv2/"]):
            p = Point("sync").tag("bucket", bucket.replace("/", "_")).field("v", 1.25).field("i", i).time(T + i)
            assert sync.write(bucket=bucket, record=p) is None
            lines.append("sync,bucket=%s i=%di,v=1.25 %d" % (bucket.replace("/", "_"), i, T + i))
        for r in proxy.take("/api/v2/write"):
            assert r.status == 204, r.status
            assert r.header("Content-Encoding") == "gzip", r.headers
            assert r.body[:2] == b"\x1f\x8b", r.body[:10]
            assert r.header("Authorization") == "Token my-token", r.headers
            assert r.query()["org"] == "my-org", r.path
        wait_stored(urls, DB, lines)

    def synchronous_rp_bucket():
        assert sync.write(bucket="pyv2/week", record="wk,kind=line v=3i %d" % RECENT) is None
        wait_stored(urls, DB, ["wk,kind=line v=3i %d" % RECENT], rp="week")

    def every_precision():
        seconds = 1_700_000_000
        cases = [
            (WritePrecision.NS, seconds * 10**9 + 11, 1),
            (WritePrecision.US, seconds * 10**6 + 11, 10**3),
            (WritePrecision.MS, seconds * 10**3 + 11, 10**6),
            (WritePrecision.S, seconds + 11, 10**9),
        ]
        lines = []
        for precision, ts, unit in cases:
            record = "prec,p=%s v=1 %d" % (precision, ts)
            assert sync.write(bucket="pyv2/autogen", record=record, write_precision=precision) is None
            lines.append("prec,p=%s v=1 %d" % (precision, ts * unit))
        sent = proxy.take("/api/v2/write")
        assert [r.query()["precision"] for r in sent] == ["ns", "us", "ms", "s"], [r.path for r in sent]
        wait_stored(urls, DB, lines)

    def record_kinds():
        records = [
            "kinds,k=line s=\"text\",b=true %d" % T,
            {"measurement": "kinds", "tags": {"k": "dict"}, "fields": {"f": 0.5, "n": 7}, "time": T},
            Point("kinds").tag("k", "point").field("u", -3).time(T),
        ]
        assert sync.write(bucket="pyv2/autogen", record=records) is None
        proxy.take()
        wait_stored(urls, DB, [
            'kinds,k=line b=true,s="text" %d' % T,
            "kinds,k=dict f=0.5,n=7i %d" % T,
            "kinds,k=point u=-3i %d" % T,
        ])

    def batching():
        done = {"success": 0, "error": [], "retry": 0}
        lock = threading.Lock()

        def on_success(conf, data):
            with lock:
                done["success"] += 1

        def on_error(conf, data, exception):
            with lock:
                done["error"].append(exception)

        def on_retry(conf, data, exception):
            with lock:
                done["retry"] += 1

        batch = client.write_api(
            write_options=WriteOptions(batch_size=500, flush_interval=200, max_retries=0),
            success_callback=on_success,
            error_callback=on_error,
            retry_callback=on_retry,
        )
        lines = ["batched,host=h%d v=%di %d" % (i % 10, i, RECENT + i) for i in range(2000)]
        for line in lines:
            batch.write(bucket="pyv2/week", record=line)
        batch.close()
        assert done == {"success": 4, "error": [], "retry": 0}, done
        sent = proxy.take("/api/v2/write")
        assert len(sent) == 4 and all(r.status == 204 for r in sent), [(r.status, r.path) for r in sent]
        wait_stored(urls, DB, lines, rp="week")

    def batching_errors_reach_the_callback():
        errors = []
        batch = client.write_api(
            write_options=WriteOptions(batch_size=10, flush_interval=100, max_retries=0),
            error_callback=lambda conf, data, e: errors.append(e),
        )
        batch.write(bucket="nope/autogen", record="x v=1")
        batch.close()
        assert len(errors) == 1 and isinstance(errors[0], ApiException), errors
        assert errors[0].status == 404, errors[0].status
        proxy.take()

    def error(status, fragment, **write):
        e = expect_raises(ApiException, lambda: sync.write(**write))
        assert e.status == status, (e.status, e.body)
        assert fragment in e.body, e.body
        proxy.take()
        return e

    def error_database_not_found():
        error(404, 'database not found: \\"nope\\"', bucket="nope/autogen", record="x v=1")

    def error_parse_with_line():
        e = error(400, "unable to parse 'cpu': missing fields", bucket="pyv2", record="ok v=1 %d\ncpu" % T)
        assert '"code":"invalid"' in e.body and '"line":2' in e.body, e.body

    def error_type_conflict():
        sync.write(bucket="pyv2", record="conflict v=1 %d" % T)
        error(400, "field type conflict", bucket="pyv2", record="conflict v=1i %d" % (T + 1))

    def error_rp_not_found():
        error(500, "retention policy not found: nope", bucket="pyv2/nope", record="x v=1")

    def unsigned_integers_on_v2():
        assert sync.write(bucket="pyv2", record="unsigned v=18446744073709551615u %d" % T) is None
        proxy.take()
        wait_stored(urls, DB, ["unsigned v=18446744073709551615u %d" % T])

    for name, fn in [
        ("ping and version", ping_and_version),
        ("synchronous, gzip, bucket db/rp, db, db/", synchronous_bucket_forms),
        ("synchronous to bucket db/week", synchronous_rp_bucket),
        ("every write precision", every_precision),
        ("line, dict and Point records", record_kinds),
        ("batching WriteApi", batching),
        ("batching error callback gets ApiException 404", batching_errors_reach_the_callback),
        ("ApiException 404 database not found", error_database_not_found),
        ("ApiException 400 parse error with line", error_parse_with_line),
        ("ApiException 400 field type conflict", error_type_conflict),
        ("ApiException 500 retention policy not found", error_rp_not_found),
        ("unsigned integers", unsigned_integers_on_v2),
    ]:
        proxy.take()
        checks.run("influxdb-client " + name, fn)
    client.close()
    proxy.close()
    run_auth(checks, auth_url)


def run_auth(checks, url):
    """The auth node after the `influxdb` checks made admin/admin and bob/bob
    (bob may write to `secure` only)."""
    ddl(url, "CREATE DATABASE secure2", auth=("admin", "admin"))

    def write_as(token, bucket="secure2"):
        with InfluxDBClient(url=url, token=token, org="-", enable_gzip=True) as c:
            c.write_api(write_options=SYNCHRONOUS).write(bucket=bucket, record="v2sec v=1 %d" % T)

    def token_user_password():
        write_as("admin:admin")

    def wrong_password_401():
        e = expect_raises(ApiException, lambda: write_as("admin:wrong"))
        assert e.status == 401 and '"code":"unauthorized"' in e.body, (e.status, e.body)

    def no_write_privilege_403():
        e = expect_raises(ApiException, lambda: write_as("bob:bob"))
        assert e.status == 403 and '"code":"forbidden"' in e.body, (e.status, e.body)
        write_as("bob:bob", bucket="secure")

    for name, fn in [
        ("auth: Token user:password", token_user_password),
        ("auth: ApiException 401 wrong password", wrong_password_401),
        ("auth: ApiException 403 without write privilege", no_write_privilege_403),
    ]:
        checks.run("influxdb-client " + name, fn)
