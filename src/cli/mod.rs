//! The command line: clap types (what the user typed), their conversion into validated
//! settings for `commands` (the second layer, in [`settings`]), logging setup, and the entry
//! point that maps results to exit codes. Nothing outside this module reads raw flags.

mod entry;
mod logging;
mod settings;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use entry::main;

const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    finding: differences, drift, or a policy that blocks
  2    usage or configuration error
  3    cannot connect or authenticate
  4    migration failed (rolled back, or recorded dirty when it ran outside a transaction)
  5    history conflict (checksum mismatch, dirty, missing migration)
  6    backup, restore or verification failure
  7    lock not acquired in time
  8    rollback failed: a human is needed
  101  bug in pgkeel
`pgkeel sandbox run -- CMD` exits with CMD's status.";

/// Safe PostgreSQL schema changes: diff, backup, restore, drift and deploy.
#[derive(Debug, Parser)]
#[command(name = "pgkeel", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Human, env = "PGKEEL_FORMAT")]
    pub format: FormatArg,
    /// When to use colours (NO_COLOR is honoured by `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, env = "PGKEEL_COLOR")]
    pub color: ColorArg,
    /// Less logging on stderr (-qq: errors only).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
    /// More logging on stderr (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Configuration file [default: ./pgkeel.yml when present].
    #[arg(long, global = true, env = "PGKEEL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
    Markdown,
    Sql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a connection: server version, role, TLS, schemas, latency (the preflight).
    Check(CheckArgs),
    /// Start, inspect, stop or run a command against a throwaway local PostgreSQL.
    Sandbox(SandboxArgs),
    /// Compare two schemas (databases or snapshots): report, SQL migration, or JSON.
    Diff(DiffArgs),
    /// [not available yet] Back up a database with a verified, checksummed pg_dump.
    Backup(PendingArgs),
    /// [not available yet] Restore a backup, guarded by confirmation and a safety backup.
    Restore(PendingArgs),
    /// Compare the live schema with what its applied migrations produce (exit 1 on drift).
    Drift(DriftArgs),
    /// [not available yet] Rehearse, back up, apply, verify, and roll back on failure.
    Deploy(PendingArgs),
    /// Print a database's schema as a stable, versioned JSON snapshot.
    Inspect(InspectArgs),
    /// [not available yet] Check migration files for dangerous statements.
    Lint(PendingArgs),
    /// Apply, revert or resolve migrations, in any common tool's format, or run the team's
    /// own tool (command mode) with pgkeel's lock and timeouts around it.
    Migrate(MigrateArgs),
    /// Show applied, pending, dirty, edited, missing and out-of-order migrations.
    Status(StatusArgs),
}

/// Where to connect.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Connection URL (postgres://user:pass@host:5432/db?sslmode=verify-full) or libpq
    /// key=value string. Also read from PGKEEL_DATABASE_URL, then DATABASE_URL; PGHOST, PGPORT,
    /// PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGCONNECT_TIMEOUT and PGAPPNAME
    /// fill in what the URL leaves out.
    #[arg(
        long,
        env = "PGKEEL_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// A schema the next steps will touch (repeatable) [default: public, or `schemas:` in
    /// pgkeel.yml]. A named schema that does not exist is a finding (exit 1).
    #[arg(long = "schema", value_name = "SCHEMA")]
    pub schemas: Vec<String>,
}

/// Which schemas to read.
#[derive(Debug, Args)]
pub struct SchemaFilterArgs {
    /// Only this schema (repeatable) [default: every non-system schema].
    #[arg(long = "schema", value_name = "SCHEMA")]
    pub schemas: Vec<String>,
    /// Leave this schema out (repeatable).
    #[arg(long = "exclude-schema", value_name = "SCHEMA")]
    pub exclude_schemas: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub filter: SchemaFilterArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Two modes:\n  pgkeel diff --from A --to B            compare two schemas (URLs or snapshot files)\n  pgkeel diff --migrations DIR [BASE]    preview migrations in a throwaway database, where\n                                         BASE is --base-ref REV, --database-url URL,\n                                         --from-snapshot FILE, or nothing (all new)"
)]
pub struct DiffArgs {
    /// The starting schema: a connection URL or a snapshot file from `pgkeel inspect`.
    #[arg(long, value_name = "URL|FILE", requires = "to", conflicts_with_all = ["migrations", "command"])]
    pub from: Option<String>,
    /// The desired schema: a connection URL or a snapshot file.
    #[arg(long, value_name = "URL|FILE", requires = "from")]
    pub to: Option<String>,
    #[command(flatten)]
    pub migrations: MigrationsArgs,
    /// Preview: compare with the migrations as they are at this git revision (e.g. origin/main).
    #[arg(long, value_name = "REV", conflicts_with_all = ["database_url", "from"])]
    pub base_ref: Option<String>,
    /// Preview: compare with this database's schema (cloned into the sandbox, schema only);
    /// the migrations its history marks pending are the new ones. Never written to.
    #[arg(long, value_name = "URL", conflicts_with = "from_snapshot")]
    pub database_url: Option<String>,
    /// Preview: compare with a snapshot from `pgkeel inspect` (with --base-ref, only
    /// migrations added since that revision are applied on top of it).
    #[arg(long, value_name = "FILE")]
    pub from_snapshot: Option<PathBuf>,
    /// Preview in command mode: run the team's migration tool (with DATABASE_URL set) against
    /// the sandbox, for the base (at --base-ref, in a temporary git worktree) and the head.
    #[arg(long, value_name = "CMD")]
    pub command: Option<String>,
    #[command(flatten)]
    pub replay: ReplayServerArgs,
    /// Preview: exit 1 on breaking changes, on hazards too, or never.
    #[arg(long, value_enum, default_value_t = FailOnArg::Breaking)]
    pub fail_on: FailOnArg,
    /// Preview: run each new migration's down script in the sandbox and check that the schema
    /// returns exactly and that up applies again.
    #[arg(long)]
    pub check_down: bool,
    #[command(flatten)]
    pub filter: SchemaFilterArgs,
    /// Plan non-blocking forms: CREATE INDEX CONCURRENTLY, NOT VALID + VALIDATE, SET NOT NULL
    /// through a validated CHECK.
    #[arg(long)]
    pub online: bool,
    /// Exit with 1 when there are differences.
    #[arg(long)]
    pub exit_code: bool,
    /// Drop and recreate tables whose partitioning or inheritance changes (their rows are
    /// lost). Without it such changes are refused.
    #[arg(long)]
    pub allow_recreate: bool,
    /// Do not report differences in column order (ALTER cannot change it).
    #[arg(long)]
    pub ignore_column_order: bool,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub action: SandboxAction,
}

#[derive(Debug, Subcommand)]
pub enum SandboxAction {
    /// Start a sandbox in the background and print its URL.
    Start(SandboxStartArgs),
    /// Stop a sandbox started with `sandbox start` (throwaway data is deleted).
    Stop(SandboxNameArgs),
    /// Show running sandboxes.
    Status(SandboxStatusArgs),
    /// Start a sandbox, run a command with DATABASE_URL set, then remove the sandbox.
    Run(SandboxRunArgs),
}

/// How the sandbox server is set up.
#[derive(Debug, Args)]
pub struct SandboxServerArgs {
    /// PostgreSQL major version [default: the newest installed].
    #[arg(long, value_name = "N", env = "PGKEEL_PG_VERSION")]
    pub pg_version: Option<u32>,
    /// TCP port on 127.0.0.1 [default: a free one].
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Keep the data in this directory across restarts [default: a temporary directory
    /// deleted on stop].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SandboxStartArgs {
    #[command(flatten)]
    pub server: SandboxServerArgs,
    /// Name to refer to this sandbox by.
    #[arg(long, default_value = "default")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct SandboxNameArgs {
    /// Which sandbox.
    #[arg(long, default_value = "default")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct SandboxStatusArgs {
    /// Only this sandbox [default: all].
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct SandboxRunArgs {
    #[command(flatten)]
    pub server: SandboxServerArgs,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// Where migrations are replayed (`diff --migrations`, `drift`).
#[derive(Debug, Args)]
pub struct ReplayServerArgs {
    /// Replay on this server, creating and dropping scratch databases, instead of a
    /// throwaway local PostgreSQL (e.g. a CI `services: postgres` container).
    #[arg(
        long,
        value_name = "URL",
        env = "PGKEEL_SANDBOX_URL",
        hide_env_values = true
    )]
    pub sandbox_url: Option<String>,
    /// PostgreSQL major version of the throwaway server [default: newest installed].
    #[arg(long, value_name = "N", env = "PGKEEL_PG_VERSION")]
    pub pg_version: Option<u32>,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub migrations: MigrationsArgs,
    /// Compare with this snapshot (from `pgkeel inspect`) instead of replaying migrations.
    #[arg(long, value_name = "FILE")]
    pub expected: Option<PathBuf>,
    #[command(flatten)]
    pub replay: ReplayServerArgs,
    #[command(flatten)]
    pub filter: SchemaFilterArgs,
    /// Ignore drift in this schema (repeatable); counted in the report.
    #[arg(long = "ignore-schema", value_name = "SCHEMA")]
    pub ignore_schemas: Vec<String>,
    /// Ignore objects whose `schema.name` (or name) matches this pattern, `*` and `?` as
    /// wildcards (repeatable); counted in the report.
    #[arg(long = "ignore", value_name = "PATTERN")]
    pub ignore_objects: Vec<String>,
    /// Ignore a kind of drift: grants, comments, ownership, column-order, unmodelled (repeatable).
    #[arg(long = "ignore-kind", value_name = "KIND")]
    pub ignore_kinds: Vec<String>,
    /// Also write drift-report.json and drift.sql here.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// Exit 1 when drift is found; `--fail-on-drift false` only reports.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub fail_on_drift: bool,
}

/// Where the migrations are and how to read them.
#[derive(Debug, Args)]
pub struct MigrationsArgs {
    /// The migrations directory [default: `migrations.dir` in pgkeel.yml, else the first of
    /// ./migrations, ./db/migrations, ./prisma/migrations, ./drizzle, ./supabase/migrations].
    #[arg(long, value_name = "DIR", env = "PGKEEL_MIGRATIONS")]
    pub migrations: Option<PathBuf>,
    /// The migration tool whose layout and history table to use [default: detected].
    #[arg(long, value_enum, value_name = "TOOL")]
    pub tool: Option<ToolArg>,
    /// Read the migrations as they are at this git revision (e.g. origin/main), without
    /// checking it out.
    #[arg(long, value_name = "REV")]
    pub at_ref: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ToolArg {
    Pgkeel,
    GolangMigrate,
    Prisma,
    Drizzle,
    Flyway,
    Dbmate,
    Goose,
    Sqlx,
    Supabase,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub migrations: MigrationsArgs,
    /// Exit with 1 when migrations are pending.
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    pub action: MigrateAction,
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply pending migrations (or run `--command`).
    Up(MigrateUpArgs),
    /// Revert applied migrations with their down scripts (default: the last one).
    Down(MigrateDownArgs),
    /// Mark a dirty or failed migration as applied or rolled back, after fixing it by hand.
    Resolve(MigrateResolveArgs),
}

/// How statements run.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// `lock_timeout` for every statement: 5s, 500ms, 1m.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub lock_timeout: String,
    /// `statement_timeout` for every statement [default: the server's].
    #[arg(long, value_name = "DURATION")]
    pub statement_timeout: Option<String>,
    /// Further attempts after a lock timeout, with doubling backoff from 500ms.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// How long to wait for another migration runner to finish.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub lock_wait: String,
    /// One transaction per migration, one for all of them, or none.
    #[arg(long, value_enum, default_value_t = TxModeArg::PerMigration)]
    pub tx_mode: TxModeArg,
    /// Show what would run, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Breaking,
    Hazard,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TxModeArg {
    PerMigration,
    All,
    None,
}

#[derive(Debug, Args)]
pub struct MigrateUpArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub migrations: MigrationsArgs,
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Stop after this version.
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Apply pending migrations older than the newest applied one instead of refusing.
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Command mode: run this command (with `sh -c`) instead, with DATABASE_URL set to the
    /// target and PGOPTIONS carrying the timeouts; pgkeel holds the lock and reports the
    /// schema before and after.
    #[arg(long, value_name = "CMD", conflicts_with_all = ["to", "allow_out_of_order"])]
    pub command: Option<String>,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

#[derive(Debug, Args)]
pub struct MigrateDownArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub migrations: MigrationsArgs,
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// How many migrations to revert.
    #[arg(long, value_name = "N", conflicts_with = "to")]
    pub steps: Option<usize>,
    /// Revert every migration after this version.
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mark").required(true).args(["applied", "rolled_back"])))]
pub struct MigrateResolveArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub migrations: MigrationsArgs,
    /// Record this version as applied (its changes are in the database).
    #[arg(long, value_name = "VERSION")]
    pub applied: Option<String>,
    /// Record this version as not applied (its changes were undone).
    #[arg(long, value_name = "VERSION")]
    pub rolled_back: Option<String>,
    /// How long to wait for another migration runner to finish.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub lock_wait: String,
}

impl MigrateArgs {
    /// The notification flags of `up` and `down` (`resolve` does not notify).
    pub fn notify(&self) -> Option<&NotifyArgs> {
        match &self.action {
            MigrateAction::Up(a) => Some(&a.notify),
            MigrateAction::Down(a) => Some(&a.notify),
            MigrateAction::Resolve(_) => None,
        }
    }
}

/// Who hears about the result when the command finishes. Flattened into every command that
/// notifies (diff, migrate up|down; drift, backup, restore and deploy as they land). Webhook
/// URLs and the SMTP URL are secrets: pass them through the environment (CI secrets), never
/// on a shared command line.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Notifications")]
pub struct NotifyArgs {
    /// Send a notification when the command finishes (repeatable, or comma-separated)
    /// [default: `notify.channels` in pgkeel.yml].
    #[arg(
        long = "notify",
        value_enum,
        value_delimiter = ',',
        value_name = "CHANNEL",
        env = "PGKEEL_NOTIFY"
    )]
    pub channels: Vec<NotifyChannelArg>,
    /// When to notify: every run, failures only, or runs that changed or found something
    /// (and failures) [default: `notify.on` in pgkeel.yml, else always].
    #[arg(long, value_enum, value_name = "WHEN", env = "PGKEEL_NOTIFY_ON")]
    pub notify_on: Option<NotifyOnArg>,
    /// Slack incoming-webhook URL (a secret).
    #[arg(
        long,
        env = "SLACK_WEBHOOK_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub slack_webhook_url: Option<String>,
    /// URL that receives a JSON document (a secret).
    #[arg(
        long,
        env = "PGKEEL_WEBHOOK_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub webhook_url: Option<String>,
    /// SMTP server: smtps://user:password@host:465, or smtp://…:587 (STARTTLS); add
    /// ?tls=none only for a relay on this machine (a secret).
    #[arg(
        long,
        env = "PGKEEL_SMTP_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub smtp_url: Option<String>,
    /// Email recipient (repeatable, or comma-separated) [default: `notify.email.to`].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "ADDRESS",
        env = "PGKEEL_EMAIL_TO"
    )]
    pub email_to: Vec<String>,
    /// Email sender [default: `notify.email.from`].
    #[arg(long, value_name = "ADDRESS", env = "PGKEEL_EMAIL_FROM")]
    pub email_from: Option<String>,
    /// Environment name shown in notifications (production, staging…)
    /// [default: `notify.environment`].
    #[arg(long, value_name = "NAME", env = "PGKEEL_NOTIFY_ENVIRONMENT")]
    pub notify_environment: Option<String>,
    /// Total time notifications may take, retries included (internal; tests shorten it).
    #[arg(
        long,
        value_name = "DURATION",
        env = "PGKEEL_NOTIFY_TIMEOUT",
        hide = true
    )]
    pub notify_timeout: Option<String>,
}

/// The notification variables clap parses as choices, where an empty value means unset.
pub(crate) const NOTIFY_CHOICE_VARS: [&str; 2] = ["PGKEEL_NOTIFY", "PGKEEL_NOTIFY_ON"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NotifyChannelArg {
    Slack,
    Webhook,
    Email,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NotifyOnArg {
    Always,
    Failure,
    Change,
}

/// Arguments of a subcommand a later version fills in; accepted and ignored so the message
/// is "not available yet" rather than a confusing flag error.
#[derive(Debug, Args)]
pub struct PendingArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<OsString>,
}
