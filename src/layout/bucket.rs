//! Bucket naming rules, one per toolkit generation.

/// 2022: each `.`-separated label of the website URL cut to its first three characters, joined,
/// every `-` deleted, then `-config`. `www.example.com` → `wwwexacom-config`.
pub fn config_bucket_2022(website_url: &str) -> String {
    let mut name: String = website_url
        .split('.')
        .map(|label| label.chars().take(3).collect::<String>())
        .collect();
    name.retain(|c| c != '-');
    name.push_str("-config");
    name
}

/// Newer generation: the URL with `.` turned into `-`, then `-config-` and the first four
/// characters of SERVERUSER, lowercased.
pub fn config_bucket_2025(website_url: &str, server_user: &str) -> String {
    let user: String = server_user
        .chars()
        .take(4)
        .collect::<String>()
        .to_lowercase();
    format!("{}-config-{}", website_url.replace('.', "-"), user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_2022() {
        assert_eq!(config_bucket_2022("www.example.com"), "wwwexacom-config");
        assert_eq!(config_bucket_2022("shop.my-site.co.uk"), "shomycouk-config");
        assert_eq!(config_bucket_2022("a.b"), "ab-config");
    }

    #[test]
    fn names_2025() {
        assert_eq!(
            config_bucket_2025("www.example.com", "X9fKqwer"),
            "www-example-com-config-x9fk"
        );
    }
}
