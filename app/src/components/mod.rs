//! Building blocks of the pages, one component (with its helpers) a file.

mod auto_stop_fields;
mod auto_stop_notice;
mod auto_stop_panel;
mod configuration_fields;
mod configuration_rows;
mod create_form;
mod error_notice;
mod field;
mod form_errors;
mod quota_panel;
mod reconfigure_panel;
mod status;
mod terminal_panel;
mod timeline;
mod usage_panel;
mod workstation_actions;
mod workstation_card;
mod workstation_list;
mod workstation_view;

pub use create_form::CreateWorkstationForm;
pub use error_notice::ErrorNotice;
pub use quota_panel::QuotaPanel;
pub use status::StatusBadge;
pub use usage_panel::UsagePanel;
pub use workstation_list::LiveWorkstationList;
pub use workstation_view::WorkstationView;
