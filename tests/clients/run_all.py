"""Runs the checks of both python clients against running tandem nodes.

Environment:
  TANDEM_URLS      comma-separated base URLs of a cluster's nodes (auth
                   off, every node an owner of every shard: RF = nodes)
  TANDEM_AUTH_URL  base URL of a node with auth on and no users yet

Prints one line per check and 'N passed, N failed' last; exits 1 on any
failure. Started by crates/tandemd/tests/t72_http_python_clients.rs.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import influxdb_client_v2_checks  # noqa: E402
import influxdb_v1_checks  # noqa: E402
from harness import Checks  # noqa: E402


def main():
    urls = os.environ["TANDEM_URLS"].split(",")
    auth_url = os.environ["TANDEM_AUTH_URL"]
    checks = Checks("python clients")
    influxdb_v1_checks.run(checks, urls, auth_url)
    influxdb_client_v2_checks.run(checks, urls, auth_url)
    print("%d passed, %d failed" % (checks.passed, len(checks.failed)))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
