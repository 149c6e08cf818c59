//! The boundary between the table and the plots: a handle to drag, and a
//! button that folds the plots to a strip.

use eframe::egui::{self, RichText, Sense};

use crate::view::Command;

/// Height the folded plots keep: their header line.
pub const PLOTS_STRIP: f32 = 30.0;
/// Height of the handle's grip area.
const HANDLE: f32 = 8.0;

/// What the handle needs.
#[derive(Debug)]
pub struct PlotsHandle {
    /// The area the table and plots share.
    pub area: egui::Rect,
    pub collapsed: bool,
    /// Programs plotted.
    pub selected: usize,
}

/// The handle and the plots' header; whether the plots are open.
pub fn plots_handle_ui(
    ui: &mut egui::Ui,
    handle: &PlotsHandle,
    commands: &mut Vec<Command>,
) -> bool {
    if handle.collapsed {
        ui.separator();
    } else {
        let (rect, response) =
            ui.allocate_exact_size(egui::vec2(ui.available_width(), HANDLE), Sense::drag());
        let response = response.on_hover_cursor(egui::CursorIcon::ResizeVertical);
        response.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Splitter, true, "Table and plots divider")
        });
        let visuals = ui.visuals();
        let stroke = if response.hovered() || response.dragged() {
            visuals.widgets.hovered.fg_stroke
        } else {
            visuals.widgets.noninteractive.bg_stroke
        };
        ui.painter().hline(rect.x_range(), rect.center().y, stroke);
        let grip = egui::Rect::from_center_size(rect.center(), egui::vec2(36.0, 3.0));
        ui.painter().rect_filled(grip, 1.5, stroke.color);
        if response.dragged()
            && let Some(pointer) = response.interact_pointer_pos()
            && handle.area.height() > 0.0
        {
            let share = (pointer.y - handle.area.top()) / handle.area.height();
            commands.push(Command::SetTableShare(share));
        }
    }
    ui.horizontal(|ui| {
        let (arrow, tip) = if handle.collapsed {
            ("⏵ Plots", "Show the plots again")
        } else {
            (
                "⏷ Plots",
                "Fold the plots to this line and give the table the room",
            )
        };
        if ui
            .add(egui::Button::new(RichText::new(arrow).strong()).frame(false))
            .on_hover_text(tip)
            .clicked()
        {
            commands.push(Command::TogglePlots);
        }
        let n = handle.selected;
        ui.label(
            RichText::new(format!(
                "{n} program{} selected · Esc clears",
                if n == 1 { "" } else { "s" }
            ))
            .weak(),
        );
    });
    !handle.collapsed
}
