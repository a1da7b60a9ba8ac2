//! `hitch`: the server and its admin commands.
use std::path::PathBuf;

use app::model::auth::Role;
use clap::{Parser, Subcommand};
use server::config::Config;
use server::services::demo;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "hitch",
    version,
    about = "Bookings and invoices, connected to the outside world"
)]
struct Cli {
    /// TOML configuration file (also HITCH_CONFIG; ./hitch.toml is read when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create an owner or admin (or reset their password).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Admin")]
        name: String,
        /// Read from HITCH_ADMIN_PASSWORD when not given, so it stays out of shell history.
        #[arg(long, env = "HITCH_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Organization name; created if no organization has its slug yet.
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "Europe/London")]
        time_zone: String,
        #[arg(long, default_value = "EUR")]
        currency: String,
        #[arg(long, value_parser = ["owner", "admin"], default_value = "owner")]
        role: String,
    },
    /// Create the demo organization with resources, guests, bookings and invoices.
    Demo,
    /// Create an API key for an organization and print it (shown only this once).
    CreateApiKey {
        /// The organization's slug (e.g. demo-bistro).
        #[arg(long)]
        org: String,
        /// What the key is for, shown in the dashboard.
        #[arg(long, default_value = "API key")]
        name: String,
        /// read_write, read_only or webhooks (Zapier and other automation tools).
        #[arg(long, default_value = "read_write")]
        scope: String,
    },
    /// Print a new random master key (base64 of 32 bytes) for HITCH_MASTER_KEY.
    GenerateKey,
    /// Re-wrap every vault data key under the current HITCH_MASTER_KEY. Older keys must
    /// be listed in HITCH_DECRYPT_KEYS. Safe to run while servers are up, and again.
    RotateMasterKey,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hitch: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    server::telemetry::init(config.log_format);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hitch: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    if let Command::GenerateKey = command {
        println!("{}", server::vault::MasterKey::generate_text().as_str());
        return Ok(());
    }
    let db = server::open_database(&config).await?;
    match command {
        Command::GenerateKey => {}
        Command::CreateApiKey { org, name, scope } => {
            let scope = app::model::api_scope::ApiScope::parse(&scope).ok_or_else(|| {
                anyhow::anyhow!("--scope: use read_write, read_only or webhooks, not `{scope}`")
            })?;
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            use server::db::entities::organization;
            let found = organization::Entity::find()
                .filter(organization::Column::Slug.eq(&org))
                .one(&db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("--org: no organization has the slug `{org}`"))?;
            let (key, secret) =
                server::services::api_keys::create(&db, &found.id, &name, "cli", scope).await?;
            println!(
                "API key \"{}\" ({}, {}) for \"{}\":",
                key.name,
                key.id,
                scope.label(),
                found.name
            );
            println!("{secret}");
            println!("Store it now: Hitch keeps only its hash and cannot show it again.");
        }
        Command::RotateMasterKey => {
            let vault = server::vault::Vault::new(config.keyring()?);
            let report = vault.rotate(&db).await?;
            println!(
                "Re-wrapped {} secret(s) under master key {}; {} already used it.",
                report.rewrapped,
                vault.primary_key_id(),
                report.already_current
            );
        }
        Command::Migrate => println!("Database is up to date."),
        Command::Demo => {
            let org = demo::seed_demo(&db)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("Demo organization \"{}\" is ready.", org.name);
            println!(
                "Sign in at {}/login with {} / {}",
                config.public_url,
                demo::DEMO_EMAIL,
                demo::DEMO_PASSWORD
            );
        }
        Command::CreateAdmin {
            email,
            name,
            password,
            org,
            time_zone,
            currency,
            role,
        } => {
            let org = demo::ensure_org(&db, &org, &time_zone, &currency.to_uppercase())
                .await
                .map_err(describe)?;
            let role = Role::parse(&role).unwrap_or(Role::Owner);
            let user = demo::upsert_user(&db, &org, &email, &name, &password, role)
                .await
                .map_err(describe)?;
            println!(
                "{} ({}) can sign in to \"{}\" at {}/login",
                user.email, user.role, org.name, config.public_url
            );
        }
        Command::Serve => {
            let shutdown = tokio_util::sync::CancellationToken::new();
            let signal = shutdown_signal();
            let running = server::start(&config, db, shutdown.clone()).await?;
            tracing::info!(addr = %running.addr, "Hitch is listening");
            tokio::spawn(async move {
                signal.await;
                shutdown.cancel();
            });
            running.wait().await?;
            tracing::info!("stopped");
        }
    }
    Ok(())
}

fn describe(e: app::error::AppError) -> anyhow::Error {
    match &e {
        app::error::AppError::Validation { fields } => {
            anyhow::anyhow!(
                fields
                    .iter()
                    .map(|f| format!("--{}: {}", f.field.replace('_', "-"), f.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
        _ => anyhow::anyhow!("{e}"),
    }
}

/// Resolves at Ctrl-C or SIGTERM. The handlers are installed by the call itself, not
/// at the first poll, so a signal that arrives while the server is still starting (its
/// workers may already be running jobs) drains them instead of killing the process.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (int, term) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! { _ = wait(int) => {}, _ = wait(term) => {} }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}
