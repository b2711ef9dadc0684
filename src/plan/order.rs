//! Phases: the coarse order of a migration. Steps are sorted by phase (stable), and within a
//! phase by the dependency order the builder emitted them in.

/// Lower runs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    DropViews,
    DropTriggersAndPolicies,
    DropForeignKeys,
    DropConstraintsAndIndexes,
    CreateSchemas,
    CreateExtensions,
    CreateTypes,
    CreateSequences,
    CreateFunctions,
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
    DropExtensions,
    DropSchemas,
    CreateViews,
    CreateTriggersAndPolicies,
    TableProperties,
    Metadata,
    /// After table privileges: `REVOKE ALL ON TABLE` also clears column grants.
    ColumnPrivileges,
}
