//! Which programs are plotted, and the cursor (the program last clicked or
//! moved to, whose details the pane shows).

use std::collections::BTreeSet;

use super::SelectMode;
use crate::model::ProgramKey;

/// The plotted programs and the cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub selected: BTreeSet<ProgramKey>,
    pub cursor: Option<ProgramKey>,
    /// The table should scroll the cursor into view on the next frame.
    pub scroll_to_cursor: bool,
}

impl Selection {
    /// A click on `key`; `order` is the table's order now (for ranges).
    pub fn select(&mut self, key: ProgramKey, mode: SelectMode, order: &[ProgramKey]) {
        match mode {
            SelectMode::Only => self.selected = BTreeSet::from([key]),
            SelectMode::Toggle => {
                if !self.selected.remove(&key) {
                    self.selected.insert(key);
                }
            }
            SelectMode::Range => {
                let to = order.iter().position(|k| *k == key);
                let from = self
                    .cursor
                    .and_then(|c| order.iter().position(|k| *k == c))
                    .or(to);
                if let (Some(a), Some(b)) = (from, to) {
                    let (lo, hi) = (a.min(b), a.max(b));
                    self.selected.extend(order[lo..=hi].iter().copied());
                }
            }
        }
        self.cursor = Some(key);
    }

    /// Moves the cursor `delta` rows through `order` (from an end when
    /// there is no cursor yet).
    pub fn move_cursor(&mut self, delta: isize, order: &[ProgramKey]) {
        if order.is_empty() {
            return;
        }
        let at = self.cursor.and_then(|c| order.iter().position(|k| *k == c));
        let next = match at {
            Some(i) => i.saturating_add_signed(delta).min(order.len() - 1),
            None if delta < 0 => order.len() - 1,
            None => 0,
        };
        self.cursor = Some(order[next]);
        self.scroll_to_cursor = true;
    }

    /// Plots the cursor's program alone.
    pub fn plot_cursor(&mut self) {
        if let Some(key) = self.cursor {
            self.selected = BTreeSet::from([key]);
        }
    }

    /// Forgets programs `keep` says no to (after clearing gone ones).
    pub fn retain(&mut self, keep: impl Fn(&ProgramKey) -> bool) {
        self.selected.retain(|k| keep(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> ProgramKey {
        ProgramKey {
            id,
            load_time_ns: 0,
        }
    }

    #[test]
    fn ranges_run_from_the_cursor_in_table_order() {
        let order = [key(3), key(1), key(2), key(4)];
        let mut s = Selection::default();
        s.select(key(1), SelectMode::Only, &order);
        s.select(key(4), SelectMode::Range, &order);
        assert_eq!(s.selected, BTreeSet::from([key(1), key(2), key(4)]));
        s.select(key(2), SelectMode::Toggle, &order);
        assert_eq!(s.selected, BTreeSet::from([key(1), key(4)]));
        assert_eq!(s.cursor, Some(key(2)));
    }

    #[test]
    fn the_cursor_stops_at_the_ends() {
        let order = [key(1), key(2)];
        let mut s = Selection::default();
        s.move_cursor(-1, &order);
        assert_eq!(s.cursor, Some(key(2)));
        s.move_cursor(5, &order);
        assert_eq!(s.cursor, Some(key(2)));
        s.move_cursor(-5, &order);
        assert_eq!(s.cursor, Some(key(1)));
    }
}
