//! The period words of the backup scripts' first argument (spec §1.3): `HOURLY`…`BIMONTHLY`,
//! `SHUTDOWN`, `MANUAL`, matched exactly (case-sensitive); any other word gives the empty
//! lower-case form, and names built from it contain `--`, as legacy's did.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Bimonthly,
    Shutdown,
    Manual,
    /// Any other word: `<p>` is empty.
    Unknown,
}

impl Period {
    pub fn parse(word: &str) -> Period {
        match word {
            "HOURLY" => Period::Hourly,
            "DAILY" => Period::Daily,
            "WEEKLY" => Period::Weekly,
            "MONTHLY" => Period::Monthly,
            "BIMONTHLY" => Period::Bimonthly,
            "SHUTDOWN" => Period::Shutdown,
            "MANUAL" => Period::Manual,
            _ => Period::Unknown,
        }
    }

    /// `<p>`: the lower-case form names are built from (empty for an unknown word).
    pub fn lower(self) -> &'static str {
        match self {
            Period::Hourly => "hourly",
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Bimonthly => "bimonthly",
            Period::Shutdown => "shutdown",
            Period::Manual => "manual",
            Period::Unknown => "",
        }
    }

    /// The word as cron passes it.
    pub fn upper(self) -> &'static str {
        match self {
            Period::Hourly => "HOURLY",
            Period::Daily => "DAILY",
            Period::Weekly => "WEEKLY",
            Period::Monthly => "MONTHLY",
            Period::Bimonthly => "BIMONTHLY",
            Period::Shutdown => "SHUTDOWN",
            Period::Manual => "MANUAL",
            Period::Unknown => "",
        }
    }

    /// The five periods cron runs.
    pub const CRON: [Period; 5] = [
        Period::Hourly,
        Period::Daily,
        Period::Weekly,
        Period::Monthly,
        Period::Bimonthly,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_exact() {
        assert_eq!(Period::parse("DAILY").lower(), "daily");
        assert_eq!(Period::parse("SHUTDOWN").lower(), "shutdown");
        assert_eq!(Period::parse("MANUAL").lower(), "manual");
        assert_eq!(Period::parse("daily"), Period::Unknown);
        assert_eq!(Period::parse("").lower(), "");
        for p in Period::CRON {
            assert_eq!(Period::parse(p.upper()), p);
        }
    }
}
