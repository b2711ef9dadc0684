//! Phases: the coarse order of a migration. Steps are sorted by phase (stable), and within a
//! phase by the dependency order the builder emitted them in.

/// Lower runs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Event triggers first, so they do not fire on the rest of the migration.
    DropEventTriggers,
    DropViews,
    DropTriggersAndPolicies,
    DropForeignKeys,
    DropConstraintsAndIndexes,
    CreateSchemas,
    CreateExtensions,
    CreateTypes,
    CreateSequences,
    CreateFunctions,
    /// Range types whose support functions this migration creates.
    CreateLateTypes,
    CreateTables,
    AlterColumns,
    DropColumns,
    SequenceOwnership,
    AddConstraintsAndIndexes,
    AddForeignKeys,
    DropTables,
    DropSequences,
    DropFunctions,
    DropTypes,
    /// Support functions of range types dropped just before.
    DropLateFunctions,
    DropExtensions,
    DropSchemas,
    CreateViews,
    CreateTriggersAndPolicies,
    TableProperties,
    Metadata,
    /// After table privileges: `REVOKE ALL ON TABLE` also clears column grants.
    ColumnPrivileges,
    /// After every object is created: new default privileges apply to later objects only.
    DefaultPrivileges,
    /// Last, as pg_dump does: an event trigger fires on every later DDL statement.
    EventTriggers,
}
