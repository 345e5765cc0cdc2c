//! The Debian package's generated files, from the CLI definition (`adt::commands::cli`) and the
//! README: `gen_assets OUTDIR` writes
//!
//! - `man/adt.1` and one `man/adt-<command>.1` per subcommand (clap_mangen);
//! - `completions/adt.bash`, `completions/_adt` (zsh), `completions/adt.fish` (clap_complete);
//! - `doc/MIGRATION.md`: the README's "Install on a machine" section, migration guide included.
//!
//! Run by `scripts/build-deb` before `cargo deb`, so nothing of this is written by hand.

use clap_complete::Shell;
use std::path::Path;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The README section that starts at `## Install on a machine`, up to the next `## ` heading.
fn migration_guide(readme: &str) -> String {
    let start = readme
        .find("\n## Install on a machine")
        .expect("README has its 'Install on a machine' section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map(|i| i + 4).unwrap_or(rest.len());
    format!(
        "# adt: installing it and migrating a running fleet\n\n(From adt-rs's README.)\n\n{}",
        &rest[..end]
    )
}

/// `adt-<path>.1` for `sub` and each of its own subcommands (`adt-layout-install.1`).
fn pages_of(sub: &clap::Command, parent: &str, out: &Path) -> std::io::Result<usize> {
    let name = leak(format!("{}-{}", parent.replace(' ', "-"), sub.get_name()));
    let shown = leak(format!("{parent} {}", sub.get_name()));
    let page = sub.clone().name(name).bin_name(shown);
    let mut buf = Vec::new();
    clap_mangen::Man::new(page).render(&mut buf)?;
    std::fs::write(out.join(format!("man/{name}.1")), &buf)?;
    let mut n = 1;
    for s in sub.get_subcommands() {
        n += pages_of(s, shown, out)?;
    }
    Ok(n)
}

fn main() -> std::io::Result<()> {
    let out = std::env::args().nth(1).expect("usage: gen_assets OUTDIR");
    let out = Path::new(&out);
    for d in ["man", "completions", "doc"] {
        std::fs::create_dir_all(out.join(d))?;
    }
    let cmd = adt::commands::cli::definition();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    std::fs::write(out.join("man/adt.1"), &buf)?;
    let mut pages = 1;
    for sub in cmd.get_subcommands() {
        pages += pages_of(sub, "adt", out)?;
    }
    for (shell, file) in [
        (Shell::Bash, "adt.bash"),
        (Shell::Zsh, "_adt"),
        (Shell::Fish, "adt.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "adt", &mut buf);
        std::fs::write(out.join("completions").join(file), &buf)?;
    }
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))?;
    std::fs::write(out.join("doc/MIGRATION.md"), migration_guide(&readme))?;
    eprintln!(
        "gen_assets: {pages} man pages, 3 completion scripts, the migration guide in {}",
        out.display()
    );
    Ok(())
}
