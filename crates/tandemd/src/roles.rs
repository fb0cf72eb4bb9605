//! The roles a tandemd process can run, one file each. A role takes the
//! whole [`Config`](crate::config::Config) (it reads its own sections) and
//! a [`Shutdown`](crate::shutdown::Shutdown) signal, and returns once it
//! has stopped cleanly.

pub mod meta;
