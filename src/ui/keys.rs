//! The keyboard map: keys become [`Command`]s.

use eframe::egui;

use crate::model::ReplayCommand;
use crate::view::Command;

/// Turns this frame's key presses into commands. Ctrl+E and Ctrl+F work
/// everywhere; the single keys only when no text field has the keyboard.
pub fn keyboard_commands(ctx: &egui::Context, export_open: bool, commands: &mut Vec<Command>) {
    use egui::{Key, Modifiers};
    let typing = ctx.egui_wants_keyboard_input();
    ctx.input_mut(|input| {
        if input.consume_key(Modifiers::COMMAND, Key::E) {
            commands.push(Command::OpenExport);
        }
        if input.consume_key(Modifiers::COMMAND, Key::F) {
            commands.push(Command::FocusFilter);
        }
        if input.consume_key(Modifiers::COMMAND, Key::O) {
            commands.push(Command::OpenRecordingDialog);
        }
        if typing {
            return;
        }
        let pressed = |input: &mut egui::InputState, key| input.consume_key(Modifiers::NONE, key);
        if pressed(input, Key::ArrowDown) || pressed(input, Key::J) {
            commands.push(Command::MoveCursor(1));
        }
        if pressed(input, Key::ArrowUp) || pressed(input, Key::K) {
            commands.push(Command::MoveCursor(-1));
        }
        if pressed(input, Key::Enter) {
            commands.push(Command::PlotCursor);
        }
        if pressed(input, Key::Slash) {
            commands.push(Command::FocusFilter);
        }
        if pressed(input, Key::I) {
            commands.push(Command::ToggleDetails);
        }
        // A replay's steps (nothing while live).
        if pressed(input, Key::ArrowLeft) {
            commands.push(Command::Replay(ReplayCommand::Step(-1)));
        }
        if pressed(input, Key::ArrowRight) {
            commands.push(Command::Replay(ReplayCommand::Step(1)));
        }
        if pressed(input, Key::Space) {
            commands.push(Command::TogglePause);
        }
        if pressed(input, Key::Escape) {
            commands.push(if export_open {
                Command::CloseExport
            } else {
                Command::ClearSelection
            });
        }
    });
}
