//! A Comity node without the network: cases moved through their treaty lifecycle, deadlines
//! that no officer can miss, effects that happen exactly once, and an audit trail.
//!
//! Every use case reads what it needs, decides in plain code what changes (checked against the
//! treaty engine's decision), and hands the store one [`comity_store::Change`] to apply
//! atomically: the case, its events and deadlines, the messages for other nodes (outbox) and
//! the audit entry are written together or not at all. Time and randomness come in through
//! [`Clock`] and [`Entropy`]; this crate reads neither the system clock nor the network.

mod case;
mod env;
mod error;
mod messages;
mod node;

pub use case::*;
pub use env::{Clock, Entropy, ManualClock, SeededEntropy};
pub use error::NodeError;
pub use messages::*;
pub use node::*;
