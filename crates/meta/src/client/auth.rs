//! Users, privileges, tokens and authentication for [`MetaClient`].
//!
//! Passwords are hashed here (argon2id, on the blocking pool) before the
//! command leaves the process. Verified (user, password) pairs are cached in
//! memory under a digest that includes the stored hash, so the write path
//! pays for argon2 once per credential and a password change invalidates
//! the entry by itself.

use super::MetaClient;
use crate::MetaError;
use crate::command::Command;
use crate::credentials::{
    credential_cache_key, hash_password, new_token, token_id, token_matches, verify_password,
};
use crate::state::{MetaState, Privilege, TokenInfo};

/// A user whose credentials were verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    pub name: String,
    /// Admin status at authentication time.
    pub admin: bool,
}

async fn hash_blocking(password: &str) -> Result<String, MetaError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| MetaError::PasswordHash(e.to_string()))?
}

impl MetaClient {
    /// `CREATE USER name WITH PASSWORD '...' [WITH ALL PRIVILEGES]`.
    pub async fn create_user(&self, name: &str, password: &str, admin: bool) -> Result<(), MetaError> {
        if name.is_empty() {
            return Err(MetaError::UsernameRequired);
        }
        let password_hash = hash_blocking(password).await?;
        self.propose(Command::CreateUser {
            name: name.to_owned(),
            password_hash,
            admin,
        })
        .await
        .map(drop)
    }

    /// `DROP USER name` (its tokens go with it).
    pub async fn drop_user(&self, name: &str) -> Result<(), MetaError> {
        self.propose(Command::DropUser {
            name: name.to_owned(),
        })
        .await
        .map(drop)
    }

    /// `SET PASSWORD FOR name = '...'`.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<(), MetaError> {
        let password_hash = hash_blocking(password).await?;
        self.propose(Command::SetPassword {
            name: name.to_owned(),
            password_hash,
        })
        .await
        .map(drop)
    }

    /// `GRANT ALL PRIVILEGES TO name` / `REVOKE ALL PRIVILEGES FROM name`.
    pub async fn set_admin(&self, name: &str, admin: bool) -> Result<(), MetaError> {
        self.propose(Command::SetAdmin {
            name: name.to_owned(),
            admin,
        })
        .await
        .map(drop)
    }

    /// `GRANT`/`REVOKE` on a database: sets the user's privilege there
    /// (`Privilege::None` revokes everything).
    pub async fn set_privilege(
        &self,
        name: &str,
        database: &str,
        privilege: Privilege,
    ) -> Result<(), MetaError> {
        self.propose(Command::SetPrivilege {
            name: name.to_owned(),
            database: database.to_owned(),
            privilege,
        })
        .await
        .map(drop)
    }

    /// Creates an API token acting as `user`; returns `(id, token)`. The
    /// token is shown only now: only its SHA-256 is stored.
    pub async fn create_token(&self, user: &str, description: &str) -> Result<(String, String), MetaError> {
        let (id, token, sha256) = new_token()?;
        let info = TokenInfo {
            id: id.clone(),
            user: user.to_owned(),
            sha256,
            description: description.to_owned(),
        };
        self.propose(Command::CreateToken(info)).await?;
        Ok((id, token))
    }

    /// Deletes a token by id.
    pub async fn delete_token(&self, id: &str) -> Result<(), MetaError> {
        self.propose(Command::DeleteToken { id: id.to_owned() })
            .await
            .map(drop)
    }

    /// Checks a user name and password. A pair verified before costs a hash
    /// lookup; an unknown user or a failed check syncs once first (the user
    /// or password may have just been created or changed elsewhere).
    /// A refused pair is [`MetaError::AuthenticationFailed`] (the text does
    /// not say whether the user exists); [`MetaError::Unavailable`] means the
    /// copy could not be confirmed with the meta service.
    pub async fn authenticate(&self, user: &str, password: &str) -> Result<AuthenticatedUser, MetaError> {
        if let Some(u) = self.verify_local(&self.state(), user, password).await {
            return Ok(u);
        }
        let state = self.sync().await?;
        self.verify_local(&state, user, password)
            .await
            .ok_or(MetaError::AuthenticationFailed)
    }

    async fn verify_local(&self, state: &MetaState, user: &str, password: &str) -> Option<AuthenticatedUser> {
        let info = state.user(user)?.clone();
        let key = credential_cache_key(user, password, &info.password_hash);
        let cached = self
            .shared
            .credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key);
        if !cached {
            let (password, hash) = (password.to_owned(), info.password_hash.clone());
            let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .ok()?;
            if !ok {
                return None;
            }
            let mut cache = self.shared.credentials.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= self.shared.config.options.credential_cache_entries {
                cache.clear();
            }
            cache.insert(key);
        }
        Some(AuthenticatedUser {
            name: info.name.clone(),
            admin: info.admin,
        })
    }

    /// Checks an API token (`tdm_<id>_<secret>`); an unknown id syncs once.
    pub async fn authenticate_token(&self, token: &str) -> Result<AuthenticatedUser, MetaError> {
        let id = token_id(token).ok_or(MetaError::AuthenticationFailed)?;
        let check = |state: &MetaState| -> Option<AuthenticatedUser> {
            let t = state.token(id)?;
            if !token_matches(token, &t.sha256) {
                return None;
            }
            let u = state.user(&t.user)?;
            Some(AuthenticatedUser {
                name: u.name.clone(),
                admin: u.admin,
            })
        };
        if let Some(u) = check(&self.state()) {
            return Ok(u);
        }
        check(&*self.sync().await?).ok_or(MetaError::AuthenticationFailed)
    }

    /// Whether `user` may write to `database` (admins may write anywhere).
    /// A refusal syncs once, in case the privilege was just granted.
    pub async fn authorize_write(&self, user: &str, database: &str) -> Result<(), MetaError> {
        self.authorize(user, database, Privilege::can_write, "write to")
            .await
    }

    /// Whether `user` may read `database`.
    pub async fn authorize_read(&self, user: &str, database: &str) -> Result<(), MetaError> {
        self.authorize(user, database, Privilege::can_read, "read from")
            .await
    }

    async fn authorize(
        &self,
        user: &str,
        database: &str,
        allowed: fn(Privilege) -> bool,
        action: &str,
    ) -> Result<(), MetaError> {
        let ok = |s: &MetaState| s.user(user).is_some_and(|u| allowed(u.privilege(database)));
        if ok(&self.state()) || ok(&*self.sync().await?) {
            return Ok(());
        }
        Err(MetaError::NotAuthorized {
            user: user.to_owned(),
            action: action.to_owned(),
            database: database.to_owned(),
        })
    }
}
