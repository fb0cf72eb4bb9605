//! Users (argon2 password hashes, admin flag, per-database privileges) and
//! API tokens (stored as SHA-256 digests, looked up by an id prefix).
//! Hashing happens in the client before proposing, so neither a password nor
//! a token ever enters the raft log in clear.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::MetaState;
use crate::MetaError;

/// InfluxQL privileges on one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
}

/// A user.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub name: String,
    /// argon2 PHC string.
    pub password_hash: String,
    pub admin: bool,
    /// Database → privilege; absent means none.
    pub privileges: BTreeMap<String, Privilege>,
}

impl std::fmt::Debug for UserInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserInfo")
            .field("name", &self.name)
            .field("admin", &self.admin)
            .field("privileges", &self.privileges)
            .finish_non_exhaustive()
    }
}

impl UserInfo {
    /// The user's privilege on `database` (admins have all).
    pub fn privilege(&self, database: &str) -> Privilege {
        if self.admin {
            Privilege::All
        } else {
            self.privileges.get(database).copied().unwrap_or_default()
        }
    }
}

/// An API token. The secret is never stored, only its SHA-256.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Public id, also part of the token (`tdm_<id>_<secret>`, see [`crate::token_id`]).
    pub id: String,
    /// The user the token acts as.
    pub user: String,
    /// Lowercase hex SHA-256 of the whole token string.
    pub sha256: String,
    pub description: String,
}

impl std::fmt::Debug for TokenInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenInfo")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl MetaState {
    /// A user by name.
    pub fn user(&self, name: &str) -> Option<&Arc<UserInfo>> {
        self.users.get(name)
    }

    /// All users by name.
    pub fn users(&self) -> impl Iterator<Item = &Arc<UserInfo>> {
        self.users.values()
    }

    /// A token by id.
    pub fn token(&self, id: &str) -> Option<&Arc<TokenInfo>> {
        self.tokens.get(id)
    }

    /// All tokens by id.
    pub fn tokens(&self) -> impl Iterator<Item = &Arc<TokenInfo>> {
        self.tokens.values()
    }

    fn user_mut(&mut self, name: &str) -> Result<&mut UserInfo, MetaError> {
        self.users
            .get_mut(name)
            .map(Arc::make_mut)
            .ok_or(MetaError::UserNotFound)
    }

    pub(super) fn create_user(
        &mut self,
        name: &str,
        password_hash: &str,
        admin: bool,
    ) -> Result<bool, MetaError> {
        if name.is_empty() {
            return Err(MetaError::UsernameRequired);
        }
        if self.users.contains_key(name) {
            return Err(MetaError::UserExists);
        }
        let user = UserInfo {
            name: name.to_owned(),
            password_hash: password_hash.to_owned(),
            admin,
            privileges: BTreeMap::new(),
        };
        self.users.insert(name.to_owned(), Arc::new(user));
        Ok(true)
    }

    /// Drops the user and every token acting as it.
    pub(super) fn drop_user(&mut self, name: &str) -> Result<bool, MetaError> {
        self.users.remove(name).ok_or(MetaError::UserNotFound)?;
        self.tokens.retain(|_, t| t.user != name);
        Ok(true)
    }

    pub(super) fn set_password(&mut self, name: &str, password_hash: &str) -> Result<bool, MetaError> {
        let user = self.user_mut(name)?;
        user.password_hash = password_hash.to_owned();
        Ok(true)
    }

    pub(super) fn set_admin(&mut self, name: &str, admin: bool) -> Result<bool, MetaError> {
        if self.users.get(name).ok_or(MetaError::UserNotFound)?.admin == admin {
            return Ok(false);
        }
        self.user_mut(name)?.admin = admin;
        Ok(true)
    }

    /// `GRANT`/`REVOKE` on a database: sets the user's privilege there.
    pub(super) fn set_privilege(
        &mut self,
        name: &str,
        database: &str,
        privilege: Privilege,
    ) -> Result<bool, MetaError> {
        let current = self
            .users
            .get(name)
            .ok_or(MetaError::UserNotFound)?
            .privileges
            .get(database)
            .copied();
        self.database(database)?;
        if current.unwrap_or_default() == privilege {
            return Ok(false);
        }
        let user = self.user_mut(name)?;
        if privilege == Privilege::None {
            user.privileges.remove(database);
        } else {
            user.privileges.insert(database.to_owned(), privilege);
        }
        Ok(true)
    }

    pub(super) fn create_token(&mut self, token: &TokenInfo) -> Result<bool, MetaError> {
        if !self.users.contains_key(&token.user) {
            return Err(MetaError::UserNotFound);
        }
        if self.tokens.contains_key(&token.id) {
            return Err(MetaError::TokenExists);
        }
        self.tokens.insert(token.id.clone(), Arc::new(token.clone()));
        Ok(true)
    }

    pub(super) fn delete_token(&mut self, id: &str) -> Result<bool, MetaError> {
        self.tokens.remove(id).ok_or(MetaError::TokenNotFound)?;
        Ok(true)
    }
}
