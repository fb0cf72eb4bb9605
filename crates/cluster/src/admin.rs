//! The meta client as the HTTP API's [`Admin`] (the `/query` DDL, user and
//! token statements) and [`Auth`] (credential checks).

use std::collections::BTreeMap;
use std::time::Duration;

use tandem_http::ports::{
    Admin, Auth, AuthError, NewToken, PortError, PortFuture, Principal, Privilege, RetentionPolicyInfo,
    RetentionPolicySpec, RetentionPolicyUpdate, TokenInfo, UserInfo,
};
use tandem_meta::{MetaClient, MetaError};

/// Adapter over a [`MetaClient`].
#[derive(Clone, Debug)]
pub struct MetaAdmin {
    client: MetaClient,
}

impl MetaAdmin {
    pub fn new(client: MetaClient) -> Self {
        Self { client }
    }
}

fn port_error(e: MetaError) -> PortError {
    match e {
        MetaError::DatabaseNotFound(db) => PortError::DatabaseNotFound(db),
        MetaError::RetentionPolicyNotFound(rp) => PortError::RetentionPolicyNotFound(rp),
        e @ (MetaError::Unavailable(_)
        | MetaError::Unreachable(_)
        | MetaError::Unauthenticated
        | MetaError::Wire(_)) => PortError::Unavailable(e.to_string()),
        e @ (MetaError::Storage(_) | MetaError::PasswordHash(_)) => PortError::Internal(e.to_string()),
        other => PortError::Rejected(other.to_string()),
    }
}

fn privilege_to_meta(p: Privilege) -> tandem_meta::Privilege {
    match p {
        Privilege::None => tandem_meta::Privilege::None,
        Privilege::Read => tandem_meta::Privilege::Read,
        Privilege::Write => tandem_meta::Privilege::Write,
        Privilege::All => tandem_meta::Privilege::All,
    }
}

fn privilege_from_meta(p: tandem_meta::Privilege) -> Privilege {
    match p {
        tandem_meta::Privilege::None => Privilege::None,
        tandem_meta::Privilege::Read => Privilege::Read,
        tandem_meta::Privilege::Write => Privilege::Write,
        tandem_meta::Privilege::All => Privilege::All,
    }
}

fn spec(s: RetentionPolicySpec) -> tandem_meta::RetentionPolicySpec {
    tandem_meta::RetentionPolicySpec {
        name: s
            .name
            .unwrap_or_else(|| tandem_meta::RetentionPolicySpec::autogen().name),
        duration: s.duration.unwrap_or(Duration::ZERO),
        shard_group_duration: s.shard_duration.unwrap_or(Duration::ZERO),
        replication_factor: s.replication,
    }
}

impl Admin for MetaAdmin {
    fn database_exists<'a>(&'a self, db: &'a str) -> PortFuture<'a, Result<bool, PortError>> {
        Box::pin(async move {
            if self.client.state().database(db).is_ok() {
                return Ok(true);
            }
            let state = self.client.sync().await.map_err(port_error)?;
            Ok(state.database(db).is_ok())
        })
    }

    fn create_database<'a>(
        &'a self,
        name: &'a str,
        policy: Option<RetentionPolicySpec>,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.client
                .create_database(name, policy.map(spec))
                .await
                .map(drop)
                .map_err(port_error)
        })
    }

    fn drop_database<'a>(&'a self, name: &'a str) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move { self.client.drop_database(name).await.map_err(port_error) })
    }

    fn databases(&self) -> PortFuture<'_, Result<Vec<String>, PortError>> {
        Box::pin(async move { Ok(self.client.state().databases().map(|d| d.name.clone()).collect()) })
    }

    fn create_retention_policy<'a>(
        &'a self,
        db: &'a str,
        s: RetentionPolicySpec,
        make_default: bool,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.client
                .create_retention_policy(db, spec(s), make_default)
                .await
                .map(drop)
                .map_err(port_error)
        })
    }

    fn alter_retention_policy<'a>(
        &'a self,
        db: &'a str,
        name: &'a str,
        update: RetentionPolicyUpdate,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            let update = tandem_meta::RetentionPolicyUpdate {
                duration: update.duration,
                shard_group_duration: update.shard_duration,
                replication_factor: update.replication,
                make_default: update.make_default,
            };
            self.client
                .alter_retention_policy(db, name, update)
                .await
                .map(drop)
                .map_err(port_error)
        })
    }

    fn drop_retention_policy<'a>(
        &'a self,
        db: &'a str,
        name: &'a str,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.client
                .drop_retention_policy(db, name)
                .await
                .map_err(port_error)
        })
    }

    fn retention_policies<'a>(
        &'a self,
        db: &'a str,
    ) -> PortFuture<'a, Result<Vec<RetentionPolicyInfo>, PortError>> {
        Box::pin(async move {
            let state = match self.client.state().database(db) {
                Ok(_) => self.client.state(),
                Err(_) => self.client.sync().await.map_err(port_error)?,
            };
            let d = state.database(db).map_err(port_error)?;
            Ok(d.retention_policies
                .values()
                .map(|p| RetentionPolicyInfo {
                    name: p.name.clone(),
                    duration: p.duration,
                    shard_group_duration: p.shard_group_duration,
                    replication: p.replication_factor,
                    default: p.name == d.default_retention_policy,
                })
                .collect())
        })
    }

    fn create_user<'a>(
        &'a self,
        name: &'a str,
        password: &'a str,
        admin: bool,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.client
                .create_user(name, password, admin)
                .await
                .map_err(port_error)
        })
    }

    fn drop_user<'a>(&'a self, name: &'a str) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move { self.client.drop_user(name).await.map_err(port_error) })
    }

    fn set_password<'a>(&'a self, name: &'a str, password: &'a str) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move { self.client.set_password(name, password).await.map_err(port_error) })
    }

    fn users(&self) -> PortFuture<'_, Result<Vec<UserInfo>, PortError>> {
        Box::pin(async move {
            Ok(self
                .client
                .state()
                .users()
                .map(|u| UserInfo {
                    name: u.name.clone(),
                    admin: u.admin,
                })
                .collect())
        })
    }

    fn set_admin<'a>(&'a self, name: &'a str, admin: bool) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move { self.client.set_admin(name, admin).await.map_err(port_error) })
    }

    fn set_privilege<'a>(
        &'a self,
        name: &'a str,
        db: &'a str,
        privilege: Privilege,
    ) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move {
            self.client
                .set_privilege(name, db, privilege_to_meta(privilege))
                .await
                .map_err(port_error)
        })
    }

    fn privileges<'a>(
        &'a self,
        name: &'a str,
    ) -> PortFuture<'a, Result<BTreeMap<String, Privilege>, PortError>> {
        Box::pin(async move {
            let state = self.client.state();
            let user = state
                .user(name)
                .ok_or_else(|| port_error(MetaError::UserNotFound))?;
            Ok(user
                .privileges
                .iter()
                .map(|(db, p)| (db.clone(), privilege_from_meta(*p)))
                .collect())
        })
    }

    fn create_token<'a>(
        &'a self,
        user: &'a str,
        description: &'a str,
    ) -> PortFuture<'a, Result<NewToken, PortError>> {
        Box::pin(async move {
            let (id, token) = self
                .client
                .create_token(user, description)
                .await
                .map_err(port_error)?;
            Ok(NewToken { id, token })
        })
    }

    fn tokens(&self) -> PortFuture<'_, Result<Vec<TokenInfo>, PortError>> {
        Box::pin(async move {
            // The meta state keeps tokens by id, so this is sorted by id.
            Ok(self
                .client
                .state()
                .tokens()
                .map(|t| TokenInfo {
                    id: t.id.clone(),
                    user: t.user.clone(),
                    description: t.description.clone(),
                })
                .collect())
        })
    }

    fn drop_token<'a>(&'a self, id: &'a str) -> PortFuture<'a, Result<(), PortError>> {
        Box::pin(async move { self.client.delete_token(id).await.map_err(port_error) })
    }
}

impl MetaAdmin {
    fn principal(&self, name: &str, admin: bool) -> Principal {
        let privileges = self
            .client
            .state()
            .user(name)
            .map(|u| {
                u.privileges
                    .iter()
                    .map(|(db, p)| (db.clone(), privilege_from_meta(*p)))
                    .collect()
            })
            .unwrap_or_default();
        Principal {
            name: name.to_owned(),
            admin,
            privileges,
        }
    }
}

fn auth_error(e: MetaError) -> AuthError {
    match e {
        e @ (MetaError::Unavailable(_)
        | MetaError::Unreachable(_)
        | MetaError::Unauthenticated
        | MetaError::Wire(_)) => AuthError::Unavailable(e.to_string()),
        _ => AuthError::Failed,
    }
}

impl Auth for MetaAdmin {
    fn admin_user_exists(&self) -> bool {
        self.client.state().users().any(|u| u.admin)
    }

    fn authenticate<'a>(
        &'a self,
        user: &'a str,
        password: &'a str,
    ) -> PortFuture<'a, Result<Principal, AuthError>> {
        Box::pin(async move {
            let u = self
                .client
                .authenticate(user, password)
                .await
                .map_err(auth_error)?;
            Ok(self.principal(&u.name, u.admin))
        })
    }

    fn authenticate_token<'a>(&'a self, token: &'a str) -> PortFuture<'a, Result<Principal, AuthError>> {
        Box::pin(async move {
            let u = self.client.authenticate_token(token).await.map_err(auth_error)?;
            Ok(self.principal(&u.name, u.admin))
        })
    }
}
