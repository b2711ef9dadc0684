//! Migrations: reading the formats teams already use, splitting files into statements with
//! exact line numbers, and knowing which statements cannot run inside a transaction.
