//! Keeping passwords out of everything `es` prints.
//!
//! Store and broker URLs carry credentials (`postgres://app:secret@db/x`,
//! `amqp://guest:guest@host`, `?password=`). Drivers sometimes echo what
//! they were given, so instead of trusting each message, the final text of
//! every error is scrubbed of every password found in the command line and
//! in the environment variables `es` reads.

/// The environment variables that may carry a URL with a password.
const URL_VARIABLES: [&str; 2] = ["ES_STORE_URL", "AMQP_URL"];

/// Replaces known passwords with `***`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// The passwords of every URL in this process's arguments and URL variables.
    pub fn from_process() -> Self {
        let candidates = std::env::args()
            .chain(
                URL_VARIABLES
                    .iter()
                    .filter_map(|name| std::env::var(name).ok()),
            )
            .flat_map(|arg| {
                // `--store=postgres://...` carries the URL after the `=`.
                let value = arg.split_once('=').map(|(_, v)| v.to_owned());
                [Some(arg), value].into_iter().flatten()
            });
        Self::from_urls(candidates)
    }

    /// The passwords of `urls` (anything that does not parse as a URL is skipped).
    pub fn from_urls(urls: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = urls
            .into_iter()
            .flat_map(|u| es_telemetry::url_passwords(&u))
            .collect();
        secrets.retain(|s| !s.is_empty());
        // Longest first, so a password containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// `text` with every known password replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "***");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_and_query_passwords_are_replaced_in_any_form() {
        let redactor = Redactor::from_urls([
            "postgres://app:s%40cret@db/x".to_owned(),
            "postgres://db/x?user=u&password=hunter2".to_owned(),
            "not a url".to_owned(),
        ]);
        let shown = redactor.redact("failed: s%40cret, s@cret and hunter2 were refused");
        assert_eq!(shown, "failed: ***, *** and *** were refused");
    }

    #[test]
    fn urls_without_passwords_change_nothing() {
        let redactor = Redactor::from_urls(["postgres://app@db/x".to_owned()]);
        assert_eq!(redactor.redact("app@db"), "app@db");
    }
}
