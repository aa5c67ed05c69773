//! A small aggregate whose decisions depend on its state, for the repository
//! checks: a ticket that is opened, reserved (or released), completed, and
//! commented on.

use serde::{Deserialize, Serialize};

use crate::{Aggregate, DomainEvent};

/// The repository checks' stateful aggregate: a ticket.
pub struct Ticket;

/// Where a [`Ticket`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TicketStatus {
    /// Not opened yet (a new stream).
    #[default]
    New,
    /// Open: can be reserved.
    Open,
    /// Reserved: can be released or completed.
    Reserved,
    /// Completed: final.
    Completed,
}

/// The state of a [`Ticket`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TicketState {
    /// Where it is.
    pub status: TicketStatus,
    /// How many comments it has.
    pub comments: u64,
}

/// Events of [`Ticket`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TicketEvent {
    /// Opened.
    Opened,
    /// Reserved.
    Reserved,
    /// Released: open again.
    Released,
    /// Completed.
    Completed,
    /// Commented on.
    Commented {
        /// The comment.
        text: String,
    },
}

impl DomainEvent for TicketEvent {
    fn event_type(&self) -> &'static str {
        match self {
            TicketEvent::Opened => "Opened",
            TicketEvent::Reserved => "Reserved",
            TicketEvent::Released => "Released",
            TicketEvent::Completed => "Completed",
            TicketEvent::Commented { .. } => "Commented",
        }
    }
}

/// Commands of [`Ticket`].
#[derive(Debug, Clone, PartialEq)]
pub enum TicketCommand {
    /// Open a new ticket; refused once it is open.
    Open,
    /// Reserve an open ticket; nothing to do if it is reserved already.
    Reserve,
    /// Release a reserved ticket; nothing to do if it is open.
    Release,
    /// Complete a reserved ticket; refused if it is not reserved, nothing to
    /// do if it is completed already.
    Complete,
    /// Complete the ticket however it stands: a reserved one (one event) or
    /// an open one (reserving it on the way: two events); nothing to do if
    /// it is completed already.
    Finish,
    /// Comment on an opened ticket (always one event).
    Comment(String),
}

/// Why a [`Ticket`] refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TicketRefusal {
    /// Open on a ticket that is open already.
    #[error("the ticket is already open")]
    AlreadyOpen,
    /// A command that needs an opened ticket, on a new one.
    #[error("the ticket is not open")]
    NotOpen,
    /// Complete on a ticket that is not reserved.
    #[error("the ticket is not reserved")]
    NotReserved,
    /// Reserve or release on a completed ticket.
    #[error("the ticket is completed")]
    Completed,
}

impl Aggregate for Ticket {
    const TYPE: &'static str = "ticket";
    type State = TicketState;
    type Command = TicketCommand;
    type Event = TicketEvent;
    type Error = TicketRefusal;

    fn handle(
        state: &TicketState,
        command: TicketCommand,
    ) -> Result<Vec<TicketEvent>, TicketRefusal> {
        use TicketStatus::*;
        match (state.status, command) {
            (New, TicketCommand::Open) => Ok(vec![TicketEvent::Opened]),
            (_, TicketCommand::Open) => Err(TicketRefusal::AlreadyOpen),
            (New, _) => Err(TicketRefusal::NotOpen),
            (Completed, TicketCommand::Complete | TicketCommand::Finish) => Ok(Vec::new()),
            (Completed, TicketCommand::Reserve | TicketCommand::Release) => {
                Err(TicketRefusal::Completed)
            }
            (Open, TicketCommand::Reserve) => Ok(vec![TicketEvent::Reserved]),
            (Reserved, TicketCommand::Reserve) | (Open, TicketCommand::Release) => Ok(Vec::new()),
            (Reserved, TicketCommand::Release) => Ok(vec![TicketEvent::Released]),
            (Open, TicketCommand::Complete) => Err(TicketRefusal::NotReserved),
            (Open, TicketCommand::Finish) => {
                Ok(vec![TicketEvent::Reserved, TicketEvent::Completed])
            }
            (Reserved, TicketCommand::Complete | TicketCommand::Finish) => {
                Ok(vec![TicketEvent::Completed])
            }
            (_, TicketCommand::Comment(text)) => Ok(vec![TicketEvent::Commented { text }]),
        }
    }

    fn apply(mut state: TicketState, event: &TicketEvent) -> TicketState {
        match event {
            TicketEvent::Opened | TicketEvent::Released => state.status = TicketStatus::Open,
            TicketEvent::Reserved => state.status = TicketStatus::Reserved,
            TicketEvent::Completed => state.status = TicketStatus::Completed,
            TicketEvent::Commented { .. } => state.comments += 1,
        }
        state
    }
}
