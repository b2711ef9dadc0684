//! The step summary: markdown appended to `$GITHUB_STEP_SUMMARY`. GitHub refuses a step's
//! summary above 1 MiB (and shows an error instead), so a longer report is cut at a line
//! boundary, an open code fence or `<details>` is closed, and a pointer to the full report
//! (the artifact, the run) takes the rest.

use std::io::Write;
use std::path::Path;

/// GitHub's limit for one step's summary, in bytes.
pub const LIMIT: usize = 1024 * 1024;

/// `markdown` cut to fit `budget` bytes with `pointer` appended, or unchanged when it fits.
pub fn fit(markdown: &str, budget: usize, pointer: &str) -> String {
    if markdown.len() <= budget {
        return markdown.to_string();
    }
    let tail =
        format!("\n\n---\n\n> ✂️ **Report truncated** (GitHub's 1 MiB summary limit). {pointer}\n");
    // Room for the tail and for closing what the cut leaves open.
    let room = budget.saturating_sub(tail.len() + 64);
    let mut cut = room.min(markdown.len());
    while cut > 0 && !markdown.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &markdown[..cut];
    let head = match head.rfind('\n') {
        Some(i) => &head[..i],
        None => head,
    };
    let mut out = head.to_string();
    let fences = head
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with("```") || t.starts_with("~~~~")
        })
        .count();
    if fences % 2 == 1 {
        out.push_str("\n```");
    }
    let opened = head.matches("<details>").count();
    let closed = head.matches("</details>").count();
    for _ in closed..opened {
        out.push_str("\n\n</details>");
    }
    out.push_str(&tail);
    out
}

/// Appends `markdown` to the summary file, within what is left of the step's 1 MiB.
pub fn append(path: &Path, markdown: &str, pointer: &str) -> std::io::Result<()> {
    let used = std::fs::metadata(path)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let text = fit(markdown, LIMIT.saturating_sub(used), pointer);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        f.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reports_are_untouched() {
        assert_eq!(fit("# hi\n", 100, "see artifact"), "# hi\n");
    }

    #[test]
    fn long_reports_are_cut_closed_and_point_at_the_artifact() {
        let mut md = String::from("### report\n<details><summary>sql</summary>\n\n```sql\n");
        while md.len() < 5000 {
            md.push_str("SELECT 'é';\n");
        }
        let out = fit(&md, 1000, "Full report: the `pgkeel-diff` artifact.");
        assert!(out.len() <= 1000, "{}", out.len());
        assert!(out.ends_with("Full report: the `pgkeel-diff` artifact.\n"));
        assert_eq!(out.matches("```").count() % 2, 0, "{out}");
        assert!(out.contains("</details>"));
    }
}
