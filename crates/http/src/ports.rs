//! What the HTTP API needs from the rest of the node, as traits this crate
//! owns: DDL and users ([`Admin`]), credentials ([`Auth`]), data export
//! ([`Exporter`]) and node status ([`Status`]). The binary implements them
//! over the meta client and the data node; tests implement them in memory.
//! Plain types only: nothing here knows protobuf, raft or JSON.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;

pub use tandem_coordinator::ports::PortFuture;

/// Why an admin, auth or export call failed. `Display` is the text clients
/// see, so implementations pass influxd's texts through unchanged
/// (`database not found: db`, `user not found`, `retention policy
/// duration must be at least 1h0m0s`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The request itself is at fault (a name that does not exist, an
    /// invalid option, a conflict). In `/query` it becomes the statement's
    /// `error`; in `/export` a 400/404.
    #[error("{0}")]
    Rejected(String),
    /// The database does not exist (`/export` answers 404).
    #[error("database not found: {0}")]
    DatabaseNotFound(String),
    /// The retention policy does not exist (`/export` answers 404).
    #[error("retention policy not found: {0}")]
    RetentionPolicyNotFound(String),
    /// The service behind the port (usually the meta service) cannot answer
    /// now; retrying later may succeed (HTTP 503 + `Retry-After`).
    #[error("{0}")]
    Unavailable(String),
    /// A local fault (HTTP 500).
    #[error("{0}")]
    Internal(String),
}

/// A database privilege, as `GRANT`/`REVOKE` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Privilege {
    #[default]
    None,
    Read,
    Write,
    All,
}

impl Privilege {
    pub fn can_read(self) -> bool {
        matches!(self, Privilege::Read | Privilege::All)
    }

    pub fn can_write(self) -> bool {
        matches!(self, Privilege::Write | Privilege::All)
    }

    /// The privilege left after revoking `revoked` (influxd clears bits:
    /// `ALL` minus `READ` leaves `WRITE`).
    pub fn without(self, revoked: Privilege) -> Privilege {
        let bits = |p: Privilege| match p {
            Privilege::None => 0u8,
            Privilege::Read => 1,
            Privilege::Write => 2,
            Privilege::All => 3,
        };
        match bits(self) & !bits(revoked) {
            1 => Privilege::Read,
            2 => Privilege::Write,
            3 => Privilege::All,
            _ => Privilege::None,
        }
    }

    /// influxd's spelling in `SHOW GRANTS` and error texts.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::None => "NO PRIVILEGES",
            Privilege::Read => "READ",
            Privilege::Write => "WRITE",
            Privilege::All => "ALL PRIVILEGES",
        }
    }
}

/// A retention policy to create (`CREATE RETENTION POLICY`, or the policy of
/// `CREATE DATABASE ... WITH ...`). `None` fields take the cluster's
/// defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetentionPolicySpec {
    /// `None` only in `CREATE DATABASE ... WITH` without `NAME` (the meta
    /// service names it `autogen`).
    pub name: Option<String>,
    /// `Some(ZERO)` is infinite (`INF`).
    pub duration: Option<Duration>,
    pub replication: Option<u32>,
    /// `Some(ZERO)` (clients send `SHARD DURATION 0s`) means "derive from
    /// the duration", as in influxd.
    pub shard_duration: Option<Duration>,
}

/// Changes of `ALTER RETENTION POLICY`; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetentionPolicyUpdate {
    pub duration: Option<Duration>,
    pub replication: Option<u32>,
    pub shard_duration: Option<Duration>,
    pub make_default: bool,
}

/// One row of `SHOW RETENTION POLICIES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicyInfo {
    pub name: String,
    /// Zero is infinite.
    pub duration: Duration,
    pub shard_group_duration: Duration,
    pub replication: u32,
    pub default: bool,
}

/// One row of `SHOW USERS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub admin: bool,
}

/// One row of `SHOW TOKENS`. The secret is never part of it: only the
/// meta service's digest of it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Public id, also part of the token (`tdm_<id>_<secret>`).
    pub id: String,
    /// The user the token acts as.
    pub user: String,
    pub description: String,
}

/// A token just created (`CREATE TOKEN FOR user`): the only time its
/// secret is shown.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    pub id: String,
    /// The whole token, as clients send it (`Authorization: Bearer <token>`).
    pub token: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The DDL and user statements of `/query`, and the database check of the
/// write endpoints. Every call returns once this node's view has the change,
/// so a write right after `CREATE DATABASE` on the same node finds it.
pub trait Admin: Send + Sync + 'static {
    /// Whether `db` exists. Asked on every write (influxd answers 404 before
    /// reading the body), so implementations answer from a local copy and
    /// sync with the meta leader only on a miss.
    fn database_exists<'a>(&'a self, db: &'a str) -> PortFuture<'a, Result<bool, PortError>>;

    /// `CREATE DATABASE name [WITH ...]`; idempotent like influxd's.
    fn create_database<'a>(
        &'a self,
        name: &'a str,
        policy: Option<RetentionPolicySpec>,
    ) -> PortFuture<'a, Result<(), PortError>>;

    /// `DROP DATABASE name`; no error when it does not exist.
    fn drop_database<'a>(&'a self, name: &'a str) -> PortFuture<'a, Result<(), PortError>>;

    /// Database names, sorted as they should be shown.
    fn databases(&self) -> PortFuture<'_, Result<Vec<String>, PortError>>;

    fn create_retention_policy<'a>(
        &'a self,
        db: &'a str,
        spec: RetentionPolicySpec,
        make_default: bool,
    ) -> PortFuture<'a, Result<(), PortError>>;

    fn alter_retention_policy<'a>(
        &'a self,
        db: &'a str,
        name: &'a str,
        update: RetentionPolicyUpdate,
    ) -> PortFuture<'a, Result<(), PortError>>;

    /// No error when the database or policy does not exist (influxd).
    fn drop_retention_policy<'a>(
        &'a self,
        db: &'a str,
        name: &'a str,
    ) -> PortFuture<'a, Result<(), PortError>>;

    /// `SHOW RETENTION POLICIES ON db`; [`PortError::DatabaseNotFound`]
    /// when `db` does not exist.
    fn retention_policies<'a>(
        &'a self,
        db: &'a str,
    ) -> PortFuture<'a, Result<Vec<RetentionPolicyInfo>, PortError>>;

    fn create_user<'a>(
        &'a self,
        name: &'a str,
        password: &'a str,
        admin: bool,
    ) -> PortFuture<'a, Result<(), PortError>>;

    fn drop_user<'a>(&'a self, name: &'a str) -> PortFuture<'a, Result<(), PortError>>;

    fn set_password<'a>(&'a self, name: &'a str, password: &'a str) -> PortFuture<'a, Result<(), PortError>>;

    fn users(&self) -> PortFuture<'_, Result<Vec<UserInfo>, PortError>>;

    /// `GRANT ALL PRIVILEGES TO name` (`true`) / `REVOKE ALL PRIVILEGES FROM
    /// name` (`false`).
    fn set_admin<'a>(&'a self, name: &'a str, admin: bool) -> PortFuture<'a, Result<(), PortError>>;

    /// Sets `name`'s privilege on `db` (`Privilege::None` removes it).
    fn set_privilege<'a>(
        &'a self,
        name: &'a str,
        db: &'a str,
        privilege: Privilege,
    ) -> PortFuture<'a, Result<(), PortError>>;

    /// `name`'s privileges by database (`SHOW GRANTS FOR name`, and what
    /// `REVOKE READ|WRITE` starts from).
    fn privileges<'a>(
        &'a self,
        name: &'a str,
    ) -> PortFuture<'a, Result<BTreeMap<String, Privilege>, PortError>>;

    /// `CREATE TOKEN FOR user [WITH DESCRIPTION '...']` (tandem extension):
    /// a new API token acting as `user`, usable at once on this node.
    /// `user not found` when `user` does not exist.
    fn create_token<'a>(
        &'a self,
        user: &'a str,
        description: &'a str,
    ) -> PortFuture<'a, Result<NewToken, PortError>>;

    /// `SHOW TOKENS` (tandem extension), sorted by id.
    fn tokens(&self) -> PortFuture<'_, Result<Vec<TokenInfo>, PortError>>;

    /// `DROP TOKEN 'id'` (tandem extension); `token not found` when no
    /// token has that id. The token stops authenticating at once on this
    /// node.
    fn drop_token<'a>(&'a self, id: &'a str) -> PortFuture<'a, Result<(), PortError>>;
}

/// Who made a request, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub admin: bool,
    /// Privileges by database at authentication time.
    pub privileges: BTreeMap<String, Privilege>,
}

impl Principal {
    pub fn can_write(&self, db: &str) -> bool {
        self.admin || self.privileges.get(db).is_some_and(|p| p.can_write())
    }

    pub fn can_read(&self, db: &str) -> bool {
        self.admin || self.privileges.get(db).is_some_and(|p| p.can_read())
    }
}

/// Why credentials were not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password or unknown token (clients get influxd's
    /// `authorization failed`; the cause is only logged).
    #[error("authorization failed")]
    Failed,
    /// The credential store cannot answer now (HTTP 503 + `Retry-After`).
    #[error("{0}")]
    Unavailable(String),
}

/// Checks credentials. Only consulted when `auth_enabled` is on.
/// Implementations cache verified credentials (keyed so a password change
/// invalidates them) so a write never pays for a password hash, but fill
/// [`Principal::admin`] and [`Principal::privileges`] from the current
/// local metadata on every call, so a `GRANT` takes effect on the next
/// request.
pub trait Auth: Send + Sync + 'static {
    /// Whether an admin user exists. Until one does, influxd lets requests
    /// through unauthenticated so the first admin can be created
    /// (`CREATE USER ... WITH ALL PRIVILEGES`); writes then get 403.
    fn admin_user_exists(&self) -> bool;

    fn authenticate<'a>(
        &'a self,
        user: &'a str,
        password: &'a str,
    ) -> PortFuture<'a, Result<Principal, AuthError>>;

    /// An API token (`Authorization: Bearer <token>` or `Token <token>`).
    fn authenticate_token<'a>(&'a self, token: &'a str) -> PortFuture<'a, Result<Principal, AuthError>>;
}

/// Which data `/export` streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportScope {
    /// Only the shards stored on this node.
    #[default]
    Local,
    /// Every shard of the cluster (one owner each), merged by the exporter.
    Cluster,
}

/// A `GET /export` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub db: String,
    /// `None`: every retention policy of `db`.
    pub rp: Option<String>,
    /// Inclusive lower bound, ns.
    pub start_ns: i64,
    /// Exclusive upper bound, ns.
    pub end_ns: i64,
    pub scope: ExportScope,
}

/// Line-protocol chunks (each a whole number of lines). An error ends the
/// response early: the client sees a truncated chunked body.
pub type ExportStream = Pin<Box<dyn Stream<Item = Result<Bytes, PortError>> + Send>>;

/// Streams stored points back as line protocol (`GET /export`), the way
/// tests and operators read what a cluster holds.
pub trait Exporter: Send + Sync + 'static {
    fn export(&self, req: ExportRequest) -> PortFuture<'static, Result<ExportStream, PortError>>;
}

/// The answer of `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// 200, `"status":"pass"`.
    Pass,
    /// 503, `"status":"fail"` with this message.
    Fail(String),
}

/// One value of a `/debug/vars` section.
#[derive(Debug, Clone, PartialEq)]
pub enum StatValue {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
}

/// One `/debug/vars` section, shaped like influxd's statistics:
/// `{"name":..,"tags":{..},"values":{..}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistic {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub values: BTreeMap<String, StatValue>,
}

/// Node status beyond the HTTP layer: health, and extra metrics the binary
/// owns (hinted-handoff sizes, clock offset to the meta leader, ...).
pub trait Status: Send + Sync + 'static {
    fn health(&self) -> PortFuture<'_, Health>;

    /// Appends Prometheus text-format families to `/metrics`. Names must not
    /// start with `tandem_http_` or `tandem_write_` (this crate's).
    fn render_metrics(&self, _out: &mut String) {}

    /// Extra `/debug/vars` sections (`hh`, `cluster`, ...).
    fn statistics(&self) -> Vec<Statistic> {
        Vec::new()
    }
}
