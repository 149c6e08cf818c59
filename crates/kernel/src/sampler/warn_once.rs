//! Trouble said once while it lasts.

/// A failure said once while it lasts, and again after it has cleared.
#[derive(Debug, Default)]
pub(super) struct WarnOnce {
    failing: bool,
}

impl WarnOnce {
    /// Records this pass's outcome; the warning to give, if it is new.
    pub(super) fn update(&mut self, failure: Option<String>) -> Option<String> {
        let was = std::mem::replace(&mut self.failing, failure.is_some());
        failure.filter(|_| !was)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_said_once_while_it_lasts_and_again_after_it_clears() {
        let mut warn = WarnOnce::default();
        assert_eq!(warn.update(Some("a".into())), Some("a".into()));
        assert_eq!(warn.update(Some("b".into())), None);
        assert_eq!(warn.update(None), None);
        assert_eq!(warn.update(Some("c".into())), Some("c".into()));
    }
}
