//! tandemd: the tandem server. `tandemd <role>` runs one role; the config
//! comes from `--config path` (TOML) plus `TANDEM_*` environment overrides
//! (see `config.rs`). `tandemd print-config` shows the effective config.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use tandemd::config::{Config, Role};
use tandemd::node;
use tandemd::shutdown::Shutdown;

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
    /// Run the roles listed in `[node] roles` (the default without a
    /// subcommand: meta, data and write, a complete one-node cluster).
    Run,
    /// Run a meta node only (raft RPC on 8089, meta API on 8091).
    Meta,
    /// Run a data node: stores shards (8088) and accepts writes (8086).
    Data,
    /// Run a write-only front-end: accepts writes (8086) and owns no shards.
    Write,
    /// Run an N-node development cluster in this process, on loopback.
    Dev {
        /// Number of nodes (each a meta voter, data node and front-end).
        #[arg(long, default_value_t = 3)]
        nodes: u32,
        /// HTTP port of node 1; node i uses base + 100·(i-1) (+2 data,
        /// +3 raft, +5 meta API).
        #[arg(long, default_value_t = 8086)]
        base_port: u16,
        /// Where the nodes keep their data.
        #[arg(long, default_value = "./tandem-dev")]
        data_dir: PathBuf,
    },
    /// Print the effective configuration (defaults, file, environment) as TOML.
    PrintConfig,
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (config, notes) = Config::load(cli.config.as_deref(), std::env::vars())?;
    let roles = match &cli.command {
        Some(Command::PrintConfig) => {
            #[allow(clippy::print_stdout)]
            {
                print!("{}", toml::to_string_pretty(&config)?);
            }
            return Ok(());
        }
        Some(Command::Dev {
            nodes,
            base_port,
            data_dir,
        }) => {
            init_logging(&config);
            return run_dev(&config, *nodes, *base_port, data_dir).await;
        }
        Some(Command::Meta) => vec![Role::Meta],
        Some(Command::Data) => vec![Role::Data, Role::Write],
        Some(Command::Write) => vec![Role::Write],
        Some(Command::Run) | None => config.node.roles.clone(),
    };
    init_logging(&config);
    for note in notes {
        tracing::warn!("{note}");
    }
    let shutdown = Shutdown::install()?;
    let node = node::start(&config, &roles).await?;
    tracing::info!(
        node = node.id.0,
        roles = ?roles,
        http = ?node.http_addr,
        data = ?node.data_addr,
        meta = ?node.meta_addrs,
        "tandemd running"
    );
    shutdown.wait().await;
    node.shutdown().await
}

async fn run_dev(config: &Config, n: u32, base_port: u16, dir: &std::path::Path) -> anyhow::Result<()> {
    if n == 0 {
        anyhow::bail!("--nodes must be at least 1");
    }
    let shutdown = Shutdown::install()?;
    let nodes = tandemd::dev::start(config, dir, n, base_port).await?;
    #[allow(clippy::print_stdout)]
    {
        println!("tandem dev cluster: {n} nodes, data in {}", dir.display());
        for node in &nodes {
            let http = node.http_addr.map(|a| a.to_string()).unwrap_or_default();
            let data = node.data_addr.map(|a| a.to_string()).unwrap_or_default();
            let (raft, api) = node
                .meta_addrs
                .map(|(r, a)| (r.to_string(), a.to_string()))
                .unwrap_or_default();
            println!(
                "  node {}: http://{http}  (data {data}, raft {raft}, meta API {api})",
                node.id
            );
        }
        let first = nodes[0].http_addr.map(|a| a.to_string()).unwrap_or_default();
        println!("database \"dev\" (replication factor {n}) is ready; try:");
        println!(
            "  curl -i 'http://{first}/write?db=dev&consistency=quorum' --data-binary 'cpu,host=a value=1'"
        );
        println!("  curl 'http://{first}/export?db=dev'");
        println!("Ctrl-C stops the cluster.");
    }
    shutdown.wait().await;
    for node in nodes {
        node.shutdown().await?;
    }
    Ok(())
}

/// glibc gives every thread that allocates its own arena (64 MiB of address
/// space each, much of it resident after bursts); tandemd's write path runs
/// on a handful of long-lived threads, so two arenas keep peak memory
/// bounded at no measurable throughput cost (see docs/BENCHMARKS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only changes allocator tuning; it is called before any
    // other thread exists, and M_ARENA_MAX is a valid parameter on glibc.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        limit_malloc_arenas();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("tandemd: error: cannot start the runtime: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(Cli::parse())) {
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
