//! A 2025 build machine for the tests of its helpers (tests/scaling.rs, tests/perform_backup.rs):
//! a HOME with the 2025 build machine's launchers (`adt layout install --generation 2025
//! --machine build`), its builds in `runtimedata/<cloudhost>/<id>/` (`build_environment`,
//! `credentials/`), the active cloud host and build, and the file naming BUILD_HOME
//! (`ADT_BUILDHOME_FILE`, for `/home/buildhome.dat`).

use super::*;

pub struct Build2025 {
    pub bm: Host,
    /// The file naming BUILD_HOME (hand it to the helpers as `ADT_BUILDHOME_FILE`).
    pub buildhome: PathBuf,
}

impl Build2025 {
    /// `builds`: `(<cloudhost>/<id>, build_environment, SERVERUSER)` each; `active`: the
    /// `ACTIVE_CLOUDHOST` and `ACTIVE_BUILD_IDENTIFIER`.
    pub fn new(
        port: u16,
        builds: &[(&str, &str, Option<&str>)],
        active: (&str, &str),
    ) -> Build2025 {
        let bm = Host::new("build", port);
        install_2025(&bm.home, "build");
        let rt = bm.home.join("runtimedata");
        for (dir, env, user) in builds {
            std::fs::create_dir_all(rt.join(dir).join("credentials")).unwrap();
            std::fs::write(rt.join(dir).join("build_environment"), env).unwrap();
            if let Some(u) = user {
                std::fs::write(
                    rt.join(dir).join("credentials/SERVERUSER"),
                    format!("{u}\n"),
                )
                .unwrap();
            }
        }
        std::fs::write(rt.join("ACTIVE_CLOUDHOST"), format!("{}\n", active.0)).unwrap();
        std::fs::write(
            rt.join("ACTIVE_BUILD_IDENTIFIER"),
            format!("{}\n", active.1),
        )
        .unwrap();
        let buildhome = bm.dir.path().join("buildhome.dat");
        std::fs::write(&buildhome, format!("{}\n", bm.home.display())).unwrap();
        Build2025 { bm, buildhome }
    }

    /// A path under `runtimedata/`.
    pub fn rt(&self, p: &str) -> PathBuf {
        self.bm.home.join("runtimedata").join(p)
    }
}

/// `adt layout install --generation 2025 --machine <machine> --home <home>`.
pub fn install_2025(home: &Path, machine: &str) {
    let o = Command::new(adt_bin())
        .args([
            "layout",
            "install",
            "--generation",
            "2025",
            "--machine",
            machine,
            "--home",
        ])
        .arg(home)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
