//! tandemd: the tandem server. `tandemd <role>` runs one role; the config
//! comes from `--config path` (TOML) plus `TANDEM_*` environment overrides
//! (see `config.rs`). `tandemd print-config` shows the effective config.

mod config;
mod roles;
mod shutdown;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::shutdown::Shutdown;

#[derive(Parser)]
#[command(
    name = "tandemd",
    version,
    about = "tandem server: InfluxDB Enterprise-style write cluster"
)]
struct Cli {
    /// TOML configuration file; `TANDEM_<SECTION>_<KEY>` variables override it.
    #[arg(long, short, env = "TANDEM_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a meta node (raft RPC on 8089, meta API on 8091).
    Meta,
    /// Print the effective configuration (defaults, file, environment) as TOML.
    PrintConfig,
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (config, notes) = Config::load(cli.config.as_deref(), std::env::vars())?;
    match cli.command {
        Some(Command::PrintConfig) => {
            #[allow(clippy::print_stdout)]
            {
                print!("{}", toml::to_string_pretty(&config)?);
            }
            Ok(())
        }
        Some(Command::Meta) => {
            init_logging(&config);
            for note in notes {
                tracing::warn!("{note}");
            }
            roles::meta::run(&config, Shutdown::install()?).await
        }
        None => anyhow::bail!(
            "no role given: the all-in-one mode is not available yet; run `tandemd meta` (see --help)"
        ),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("tandemd: error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}
