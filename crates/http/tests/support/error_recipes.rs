//! How to provoke each row of the `docs/HTTP-ERRORS.md` table: the setup
//! a row needs and the request that provokes it. Address-independent, so a
//! runner against a real `tandemd` can replay the rows whose setup it can
//! reproduce (`!Setup::needs_faults()`): a cluster with database `db`
//! (policies `autogen`, default, and `week`), and for auth rows the users
//! they name (`admin`/`admin` admin, `bob`/`bob` without privileges on
//! `db`). `FloatRegistered` needs one write of `cpu v=1 <T>` first.

#![allow(dead_code)]

use super::client::{Req, gzip};

/// What a row needs before its request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Setup {
    Plain,
    /// Auth on, admin `admin`/`admin` exists.
    Auth,
    /// Auth on, no user at all.
    AuthNoUsers,
    /// Auth on, admin plus `bob`/`bob` without privileges.
    AuthBob,
    /// Auth on, admin exists, the credential store is down (every meta
    /// node down); the request names a user this node has not seen.
    AuthDown,
    /// The meta service is down (every meta node); the request writes to
    /// a time no shard group covers yet.
    MetaDown,
    /// Every owner (nodes 4-6) answers with this error.
    OwnersFail(OwnerFailure),
    /// Owners 5 and 6 refuse connections; owner 4 acks.
    TwoOwnersDown,
    /// No owner answers before the request's deadline. The coordinator's
    /// per-owner timeout equals `write_timeout` and races the request
    /// deadline (hanging owners give `timeout` or `write failed: node N did
    /// not answer` at random), so the owner tasks end without an answer
    /// instead, which the coordinator also reports as `timeout`.
    OwnersSilent,
    /// One unit of request budget, held by a hanging request.
    BudgetHeld,
    ShuttingDown,
    /// The clock cannot persist its high-water mark.
    BrokenClock,
    /// Shard 1 (the request's) is deleted on every owner while the
    /// metadata still lists it.
    ShardDeleted,
    /// `cpu,v` is registered as float in the shard group of the request.
    FloatRegistered,
    /// No owner of shard 1 (nodes 4-6) can be reached.
    ExporterDown,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OwnerFailure {
    Refused,
    Overloaded,
    /// The owners' shard holds `cpu,v` as an integer the cluster registry
    /// has not seen; the request writes a float.
    Partial,
}

impl Setup {
    /// Needs the fakes' fault injection (not reproducible on a healthy
    /// real cluster).
    pub fn needs_faults(self) -> bool {
        !matches!(
            self,
            Setup::Plain | Setup::Auth | Setup::AuthNoUsers | Setup::AuthBob | Setup::FloatRegistered
        )
    }
}

/// A time 40 days after [`T`]: no shard group covers it until a write
/// there creates one.
pub const T_NEW_GROUP: i64 = T + 40 * 86_400_000_000_000;

pub const T: i64 = 1_700_000_000_000_000_000;

pub fn write_req(v2: bool, query: &str, body: &str) -> Req {
    let target = if v2 {
        format!("/api/v2/write?bucket=db{query}")
    } else {
        format!("/write?db=db{query}")
    };
    Req::post(&target, body)
}

/// The setup and request of every row, by id.
pub fn recipe(id: &str) -> Option<(Setup, Req)> {
    let (endpoint, key) = id.split_once('.')?;
    let line = format!("cpu,host=a v=1 {T}");
    let r = match endpoint {
        "write" | "v2" => {
            let v2 = endpoint == "v2";
            let w = |q: &str, body: &str| write_req(v2, q, body);
            match key {
                "bucket-empty" => (Setup::Plain, Req::post("/api/v2/write?bucket=", line)),
                "bucket-escape" => (Setup::Plain, Req::post("/api/v2/write?bucket=db/%25zz", line)),
                "db-required" if v2 => (Setup::Plain, Req::post("/api/v2/write?bucket=/rp", line)),
                "db-required" => (Setup::Plain, Req::post("/write?rp=autogen", line)),
                "precision" if v2 => (Setup::Plain, w("&precision=n", &line)),
                "precision" => (Setup::Plain, w("&precision=x", &line)),
                "consistency" => (Setup::Plain, w("&consistency=two", &line)),
                "db-not-found" if v2 => (Setup::Plain, Req::post("/api/v2/write?bucket=nope", line)),
                "db-not-found" => (Setup::Plain, Req::post("/write?db=nope", line)),
                "meta-unavailable" => (Setup::MetaDown, w("", &format!("cpu,host=a v=1 {T_NEW_GROUP}"))),
                "no-credentials" => (Setup::Auth, w("", &line)),
                "username-required" => (
                    Setup::Auth,
                    // ":pass"
                    w("", &line).header("Authorization", "Basic OnBhc3M="),
                ),
                "auth-failed" => (Setup::Auth, w("&u=admin&p=wrong", &line)),
                "auth-unavailable" => (Setup::AuthDown, w("&u=carol&p=carol", &line)),
                "user-required" => (Setup::AuthNoUsers, w("", &line)),
                "write-forbidden" => (Setup::AuthBob, w("&u=bob&p=bob", &line)),
                "encoding" => (Setup::Plain, w("", &line).header("Content-Encoding", "br")),
                "bad-gzip" => (
                    Setup::Plain,
                    w("", "not gzip at all").header("Content-Encoding", "gzip"),
                ),
                "too-large-length" => {
                    let mut req = w("", "");
                    req.declared_length_only = Some(25_000_001);
                    (Setup::Plain, req)
                }
                "too-large-decoded" => {
                    let big = "cpu v=1 1\n".repeat(2_500_001);
                    let mut req = w("", "").header("Content-Encoding", "gzip");
                    req.body = gzip(big.as_bytes());
                    (Setup::Plain, req)
                }
                "parse" => (Setup::Plain, w("", "cpu")),
                "parse-partial" => (Setup::Plain, w("", &format!("{line}\ncpu"))),
                "time-field" => (Setup::Plain, w("", &format!("cpu time=1 {T}"))),
                "type-conflict" => (Setup::FloatRegistered, w("", &format!("cpu v=1i {T}"))),
                "owner-partial" => (Setup::OwnersFail(OwnerFailure::Partial), w("", &line)),
                "shard-deleted" => (Setup::ShardDeleted, w("", &line)),
                "rp-not-found" if v2 => (Setup::Plain, Req::post("/api/v2/write?bucket=db/nope", line)),
                "rp-not-found" => (Setup::Plain, w("&rp=nope", &line)),
                "consistency-partial" => (Setup::TwoOwnersDown, w("&consistency=quorum", &line)),
                "consistency-failed" => (Setup::OwnersFail(OwnerFailure::Refused), w("", &line)),
                "consistency-timeout" => (Setup::OwnersSilent, w("&consistency=all", &line)),
                "consistency-overloaded" => (
                    Setup::OwnersFail(OwnerFailure::Overloaded),
                    w("&consistency=all", &line),
                ),
                "overloaded" => (Setup::BudgetHeld, w("", &line)),
                "shutting-down" => (Setup::ShuttingDown, w("", &line)),
                "internal" => (Setup::BrokenClock, w("", &line)),
                _ => return None,
            }
        }
        "query" => match key {
            "missing-q" => (Setup::Plain, Req::post("/query", "")),
            "parse" => (Setup::Plain, Req::get("/query?q=FOO")),
            "unsupported" => (Setup::Plain, Req::get("/query?q=SELECT+*+FROM+cpu")),
            "unsupported-show" => (Setup::Plain, Req::get("/query?q=SHOW+MEASUREMENTS")),
            "no-credentials" => (Setup::Auth, Req::get("/query?q=SHOW+DATABASES")),
            "auth-failed" => (Setup::Auth, Req::get("/query?q=SHOW+DATABASES&u=admin&p=wrong")),
            "no-admin-yet" => (Setup::AuthNoUsers, Req::get("/query?q=SHOW+DATABASES")),
            "forbidden" => (
                Setup::AuthBob,
                Req::post("/query?q=CREATE+DATABASE+x&u=bob&p=bob", ""),
            ),
            _ => return None,
        },
        "export" => match key {
            "db-required" => (Setup::Plain, Req::get("/export")),
            "bad-scope" => (Setup::Plain, Req::get("/export?db=db&scope=all")),
            "bad-start" => (Setup::Plain, Req::get("/export?db=db&start=yesterday")),
            "db-not-found" => (Setup::Plain, Req::get("/export?db=nope")),
            "rp-not-found" => (Setup::Plain, Req::get("/export?db=db&rp=nope")),
            "no-credentials" => (Setup::Auth, Req::get("/export?db=db")),
            "read-user-required" => (Setup::AuthNoUsers, Req::get("/export?db=db")),
            "read-forbidden" => (Setup::AuthBob, Req::get("/export?db=db&u=bob&p=bob")),
            "unavailable" => (Setup::ExporterDown, Req::get("/export?db=db")),
            _ => return None,
        },
        _ => return None,
    };
    Some(r)
}
