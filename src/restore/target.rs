//! The database being restored into: the confirmation rule, the check that the connection
//! really reaches the database named, emptying it (`replace`) and swapping names (`swap`).

use super::RestoreError;
use crate::pg::{quote, Client};

/// `--confirm` must equal the target database's name, or the configured token.
pub fn check_confirmation(
    target_db: &str,
    confirm: Option<&str>,
    token: Option<&str>,
) -> Result<(), RestoreError> {
    let expected = token.unwrap_or(target_db);
    if confirm == Some(expected) {
        return Ok(());
    }
    Err(RestoreError::Unconfirmed {
        expected: match token {
            Some(t) => format!("the confirmation token `{t}`"),
            None => format!("the target database's name, `{target_db}`"),
        },
        given: confirm.map(str::to_string),
    })
}

fn q(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> RestoreError {
    move |e| RestoreError::Query {
        context,
        source: e.into(),
    }
}

/// The server must say it is the database the user named (a pooler alias or a stray
/// `PGDATABASE` must not redirect a restore).
pub async fn check_identity(client: &Client, named: &str) -> Result<(), RestoreError> {
    let row = client
        .pg()
        .query_one("SELECT current_database()", &[])
        .await
        .map_err(q("cannot read the target's name"))?;
    let actual: String = row.get(0);
    if actual != named {
        return Err(RestoreError::WrongTarget {
            named: named.to_string(),
            actual,
        });
    }
    Ok(())
}

/// DROP statements for everything a dump can hold (extensions but plpgsql, every schema but
/// `public`, and the relations, routines, types and collations in `public`). Identifiers are
/// quoted by the server (`%I`, `regprocedure`, `regtype`): nothing here comes from input.
const CLEAN: &str = "\
SELECT format('DROP EXTENSION IF EXISTS %I CASCADE', extname) FROM pg_extension WHERE extname <> 'plpgsql'
UNION ALL
SELECT format('DROP SCHEMA IF EXISTS %I CASCADE', nspname) FROM pg_namespace
 WHERE nspname <> 'public' AND nspname <> 'information_schema' AND nspname !~ '^pg_'
UNION ALL
SELECT format('DROP %s IF EXISTS public.%I CASCADE',
              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
              c.relname)
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
   AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))
UNION ALL
SELECT format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure) FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
UNION ALL
SELECT format('DROP %s IF EXISTS %s CASCADE', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype)
  FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace
   AND (t.typtype IN ('e', 'r', 'd') OR (t.typtype = 'c' AND EXISTS (
        SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c')))
UNION ALL
SELECT format('DROP COLLATION IF EXISTS public.%I CASCADE', collname) FROM pg_collation
 WHERE collnamespace = 'public'::regnamespace";

/// Empties the target in one transaction, so a restore leaves exactly what the backup holds
/// (pg_restore `--clean` alone would keep objects created after the backup).
pub async fn clean_slate(client: &Client) -> Result<usize, RestoreError> {
    let rows = client
        .pg()
        .query(CLEAN, &[])
        .await
        .map_err(q("cannot list the target's objects"))?;
    let mut sql = String::from("BEGIN;\nSET LOCAL client_min_messages = warning;\n");
    for r in &rows {
        sql.push_str(&r.get::<_, String>(0));
        sql.push_str(";\n");
    }
    sql.push_str("COMMIT;");
    if let Err(e) = client.pg().batch_execute(&sql).await {
        let _ = client.pg().batch_execute("ROLLBACK").await;
        return Err(q("cannot empty the target before restoring")(e));
    }
    Ok(rows.len())
}

/// Makes a load done with `synchronous_commit=off` durable: a synchronous commit flushes the
/// WAL up to its own record, which covers every commit before it. Any role can do this (no
/// CHECKPOINT privilege needed): `txid_current()` is enough to give the transaction a record.
pub async fn make_durable(client: &Client) -> Result<(), RestoreError> {
    client
        .pg()
        .batch_execute("BEGIN; SET LOCAL synchronous_commit = on; SELECT txid_current(); COMMIT")
        .await
        .map_err(q("cannot flush the restored data to disk"))
}

/// The owner of database `name`, for creating its replacement.
pub async fn owner_of(admin: &Client, name: &str) -> Result<String, RestoreError> {
    let row = admin
        .pg()
        .query_one(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .map_err(q("cannot read the target database's owner"))?;
    Ok(row.get(0))
}

/// Creates the database a swap restores into.
pub async fn create_database(admin: &Client, name: &str, owner: &str) -> Result<(), RestoreError> {
    admin
        .pg()
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE template0 OWNER {}",
            quote::ident(name),
            quote::ident(owner)
        ))
        .await
        .map_err(q("cannot create the database to restore into"))
}

/// Drops a database (a swap's leftover), disconnecting its sessions.
pub async fn drop_database(admin: &Client, name: &str) -> Result<(), RestoreError> {
    admin
        .pg()
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote::ident(name)
        ))
        .await
        .map_err(q("cannot drop a database"))
}

/// Renames `target` → `old` and `new` → `target`, disconnecting the target's sessions.
/// Connected to another database of the same server (`admin`).
pub async fn swap(admin: &Client, target: &str, new: &str, old: &str) -> Result<(), RestoreError> {
    let (t, n, o) = (quote::ident(target), quote::ident(new), quote::ident(old));
    admin
        .pg()
        .batch_execute(&format!("ALTER DATABASE {t} WITH ALLOW_CONNECTIONS false"))
        .await
        .map_err(q("cannot stop new connections to the target"))?;
    let mut last = None;
    for attempt in 0..5 {
        let _ = admin
            .pg()
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&target],
            )
            .await;
        match admin
            .pg()
            .batch_execute(&format!("ALTER DATABASE {t} RENAME TO {o}"))
            .await
        {
            Ok(()) => {
                last = None;
                break;
            }
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
            }
        }
    }
    if let Some(e) = last {
        let _ = admin
            .pg()
            .batch_execute(&format!("ALTER DATABASE {t} WITH ALLOW_CONNECTIONS true"))
            .await;
        return Err(q(
            "cannot rename the target aside (sessions kept reconnecting?)",
        )(e));
    }
    let renamed = admin
        .pg()
        .batch_execute(&format!("ALTER DATABASE {n} RENAME TO {t}"))
        .await;
    let _ = admin
        .pg()
        .batch_execute(&format!("ALTER DATABASE {o} WITH ALLOW_CONNECTIONS true"))
        .await;
    if let Err(e) = renamed {
        // Put the original back under its name.
        let _ = admin
            .pg()
            .batch_execute(&format!("ALTER DATABASE {o} RENAME TO {t}"))
            .await;
        return Err(q("cannot rename the restored database into place")(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmation_rules() {
        assert!(check_confirmation("app", Some("app"), None).is_ok());
        assert!(check_confirmation("app", Some("RESTORE"), None).is_err());
        assert!(check_confirmation("app", None, None).is_err());
        assert!(check_confirmation("app", Some("RESTORE"), Some("RESTORE")).is_ok());
        assert!(check_confirmation("app", Some("app"), Some("RESTORE")).is_err());
        let e = check_confirmation("app", Some("prod"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`app`") && e.contains("`prod`"), "{e}");
    }
}
