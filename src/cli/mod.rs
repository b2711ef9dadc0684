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
    /// Back up a database with the right pg_dump, streamed, checksummed and verified by a real
    /// test restore; `backup list` shows what a store holds.
    Backup(BackupArgs),
    /// Restore a backup, guarded by a typed confirmation and a verified safety backup.
    Restore(RestoreArgs),
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
    #[command(flatten)]
    pub protection: ProtectionArgs,
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
    #[arg(long, value_name = "REV", conflicts_with_all = ["database_url", "from"], env = "PGKEEL_BASE_REF")]
    pub base_ref: Option<String>,
    /// Preview: compare with this database's schema (cloned into the sandbox, schema only);
    /// the migrations its history marks pending are the new ones. Never written to.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "from_snapshot",
        env = "PGKEEL_BASE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Preview: compare with a snapshot from `pgkeel inspect` (with --base-ref, only
    /// migrations added since that revision are applied on top of it).
    #[arg(long, value_name = "FILE", env = "PGKEEL_FROM_SNAPSHOT")]
    pub from_snapshot: Option<PathBuf>,
    /// Preview in command mode: run the team's migration tool (with DATABASE_URL set) against
    /// the sandbox, for the base (at --base-ref, in a temporary git worktree) and the head.
    #[arg(long, value_name = "CMD")]
    pub command: Option<String>,
    #[command(flatten)]
    pub replay: ReplayServerArgs,
    /// Preview: exit 1 on breaking changes, on hazards too, or never.
    #[arg(long, value_enum, default_value_t = FailOnArg::Breaking, env = "PGKEEL_FAIL_ON")]
    pub fail_on: FailOnArg,
    /// Preview: run each new migration's down script in the sandbox and check that the schema
    /// returns exactly and that up applies again.
    #[arg(long, env = "PGKEEL_CHECK_DOWN", value_parser = clap::builder::BoolishValueParser::new())]
    pub check_down: bool,
    /// Preview: also write diff-report.md and diff-report.json here.
    #[arg(long, value_name = "DIR", env = "PGKEEL_OUTPUT_DIR")]
    pub output_dir: Option<PathBuf>,
    #[command(flatten)]
    pub github: GithubArgs,
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
    #[arg(long, value_name = "FILE", env = "PGKEEL_EXPECTED")]
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
    /// Also write drift-report.json, drift-report.md and drift.sql here.
    #[arg(long, value_name = "DIR", env = "PGKEEL_OUTPUT_DIR")]
    pub output_dir: Option<PathBuf>,
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// Exit 1 when drift is found; `--fail-on-drift false` only reports.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set, env = "PGKEEL_FAIL_ON_DRIFT")]
    pub fail_on_drift: bool,
    /// In GitHub Actions: keep one issue per database open while it drifts (updated when the
    /// drift changes, closed when it is gone). Needs GITHUB_TOKEN with `issues: write`.
    #[arg(long, value_name = "BOOL", default_value_t = false, action = clap::ArgAction::Set, env = "PGKEEL_OPEN_ISSUE")]
    pub open_issue: bool,
    #[command(flatten)]
    pub github: GithubArgs,
}

/// Where the migrations are and how to read them.
#[derive(Debug, Args)]
pub struct MigrationsArgs {
    /// The migrations directory [default: `migrations.dir` in pgkeel.yml, else the first of
    /// ./migrations, ./db/migrations, ./prisma/migrations, ./drizzle, ./supabase/migrations].
    #[arg(long, value_name = "DIR", env = "PGKEEL_MIGRATIONS")]
    pub migrations: Option<PathBuf>,
    /// The migration tool whose layout and history table to use [default: detected].
    #[arg(long, value_enum, value_name = "TOOL", env = "PGKEEL_TOOL")]
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

/// What pgkeel does in a GitHub Actions step besides its report (the step summary, outputs and
/// annotations are always written there).
#[derive(Debug, Args)]
#[command(next_help_heading = "GitHub Actions")]
pub struct GithubArgs {
    /// On a pull request, keep one comment with the report (needs GITHUB_TOKEN with
    /// `pull-requests: write`): always, when there are changes, when the run fails, or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = CommentArg::OnChange, env = "PGKEEL_COMMENT")]
    pub comment: CommentArg,
    /// The artifact the action uploads the full report as, named in the summary's links.
    #[arg(long, value_name = "NAME", env = "PGKEEL_ARTIFACT_NAME", hide = true)]
    pub artifact_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CommentArg {
    Always,
    OnChange,
    OnFailure,
    Never,
}

/// The GitHub Environment gate: before a destructive step, check through the API that the
/// job's environment requires a reviewer's approval.
#[derive(Debug, Args)]
#[command(next_help_heading = "GitHub Actions")]
pub struct ProtectionArgs {
    /// The GitHub Environment the job runs in (its `environment:`), whose protection rules
    /// are checked (needs GITHUB_TOKEN with `actions: read`).
    #[arg(long, value_name = "NAME", env = "PGKEEL_ENVIRONMENT")]
    pub environment: Option<String>,
    /// When the environment lacks required reviewers: fail (exit 1), warn, or do not check
    /// [default: fail with --environment, else off].
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        env = "PGKEEL_REQUIRE_PROTECTION"
    )]
    pub require_protection: Option<ProtectionArg>,
    /// How many required reviewers the environment must list at least [default: 2 for
    /// restore, 1 for check].
    #[arg(long, value_name = "N", env = "PGKEEL_MIN_REVIEWERS")]
    pub min_reviewers: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtectionArg {
    Fail,
    Warn,
    Off,
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

/// How to reach S3 or an S3-compatible store (credentials: the AWS default chain —
/// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, container or instance role).
#[derive(Debug, Args)]
pub struct S3Args {
    /// Endpoint of an S3-compatible store (MinIO, R2, B2…), e.g. http://127.0.0.1:9000.
    #[arg(long, value_name = "URL", env = "PGKEEL_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Region [default: AWS_REGION / the profile's, else us-east-1].
    #[arg(long, value_name = "REGION", env = "PGKEEL_S3_REGION")]
    pub s3_region: Option<String>,
    /// Path-style addressing (endpoint/bucket/key), which most S3-compatible stores need.
    #[arg(long, env = "PGKEEL_S3_PATH_STYLE")]
    pub s3_path_style: bool,
    /// Send checksums only when an operation requires them, for stores that reject the SDK's
    /// default ones (Cloudflare R2 and others).
    #[arg(long, env = "PGKEEL_S3_NO_DEFAULT_CHECKSUMS")]
    pub s3_no_default_checksums: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DumpFormatArg {
    /// pg_dump -Fc, compressed by pgkeel; restored by pg_restore.
    Custom,
    /// pg_dump -Fd --jobs N, one file per table, compressed by pg_dump.
    Directory,
    /// SQL text, compressed by pgkeel; restored by psql.
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyArg {
    /// No check.
    None,
    /// pg_restore --list reads the archive's table of contents.
    List,
    /// Restore into a throwaway server and compare row counts and schema with the manifest.
    Restore,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub action: Option<BackupAction>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// Where to store it: a directory or s3://bucket/prefix.
    #[arg(
        long,
        value_name = "DIR|s3://BUCKET/PREFIX",
        env = "PGKEEL_BACKUPS",
        default_value = "./backups"
    )]
    pub to: String,
    /// pg_dump's format.
    #[arg(long, value_enum, default_value_t = DumpFormatArg::Custom, env = "PGKEEL_DUMP_FORMAT")]
    pub dump_format: DumpFormatArg,
    /// gzip, zstd or none, with an optional level (gzip:9, zstd:19).
    #[arg(
        long,
        value_name = "METHOD[:LEVEL]",
        default_value = "zstd",
        env = "PGKEEL_COMPRESS"
    )]
    pub compress: String,
    /// Parallel jobs for the directory format and for restores [default: the number of CPUs].
    #[arg(long, value_name = "N", env = "PGKEEL_JOBS")]
    pub jobs: Option<u32>,
    /// How to check the backup before its manifest is written.
    #[arg(long, value_enum, default_value_t = VerifyArg::Restore, env = "PGKEEL_VERIFY")]
    pub verify: VerifyArg,
    /// Delete backups older than N days (after the new one is verified).
    #[arg(long, value_name = "N", env = "PGKEEL_KEEP_DAYS")]
    pub keep_days: Option<u32>,
    /// Keep only the newest N good backups (after the new one is verified).
    #[arg(long, value_name = "N", env = "PGKEEL_KEEP_LAST")]
    pub keep_last: Option<usize>,
    /// Show what retention would delete, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub s3: S3Args,
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// List the backups in a directory or bucket, newest first.
    List(BackupListArgs),
}

#[derive(Debug, Args)]
pub struct BackupListArgs {
    /// The directory or s3://bucket/prefix to look in.
    #[arg(
        long,
        value_name = "DIR|s3://BUCKET/PREFIX",
        env = "PGKEEL_BACKUPS",
        default_value = "./backups"
    )]
    pub from: String,
    #[command(flatten)]
    pub s3: S3Args,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// Empty the target and restore into it (pg_restore --clean --if-exists).
    Replace,
    /// Restore into a new database, verify it, then swap names (the old one is kept).
    Swap,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub notify: NotifyArgs,
    /// The backup: a path, s3://bucket/prefix/<id>, `latest`, or a backup id (looked up in
    /// --backups).
    #[arg(
        long,
        value_name = "PATH|s3://…|latest|ID",
        env = "PGKEEL_RESTORE_FROM"
    )]
    pub from: String,
    /// Where `latest` and ids are looked up, and where the safety backup goes.
    #[arg(
        long,
        value_name = "DIR|s3://BUCKET/PREFIX",
        env = "PGKEEL_BACKUPS",
        default_value = "./backups"
    )]
    pub backups: String,
    /// The target database's name (or the token set by --confirm-token): nothing happens
    /// without it.
    #[arg(long, value_name = "NAME", env = "PGKEEL_CONFIRM")]
    pub confirm: Option<String>,
    /// Require this literal (e.g. RESTORE) in --confirm instead of the database name.
    #[arg(long, value_name = "TOKEN", env = "PGKEEL_CONFIRM_TOKEN")]
    pub confirm_token: Option<String>,
    /// How the target is replaced.
    #[arg(long, value_enum, default_value_t = StrategyArg::Replace, env = "PGKEEL_STRATEGY")]
    pub strategy: StrategyArg,
    /// pg_restore parallel jobs [default: the number of CPUs].
    #[arg(long, value_name = "N", env = "PGKEEL_JOBS")]
    pub jobs: Option<u32>,
    /// Do not back up the target first (then a failed restore cannot be undone).
    #[arg(long)]
    pub no_safety_backup: bool,
    /// How the safety backup is checked before the target is touched.
    #[arg(long, value_enum, default_value_t = VerifyArg::Restore, env = "PGKEEL_SAFETY_VERIFY")]
    pub safety_verify: VerifyArg,
    /// Apply this directory's pending migrations after the restore.
    #[arg(long, value_name = "DIR", env = "PGKEEL_MIGRATIONS")]
    pub migrations: Option<PathBuf>,
    /// The migration tool of --migrations [default: detected].
    #[arg(
        long,
        value_enum,
        value_name = "TOOL",
        requires = "migrations",
        env = "PGKEEL_TOOL"
    )]
    pub tool: Option<ToolArg>,
    #[command(flatten)]
    pub s3: S3Args,
    #[command(flatten)]
    pub protection: ProtectionArgs,
}
