//! The control plane of a node: the use cases behind `cloudlet deploy / apps / status / scale /
//! delete / logs`, and bringing every app back after a restart.
//!
//! - [`control`]: [`Control`] — validates a deploy against the manifest rules and the rest of the
//!   node (routes of other apps, files in the bundle), persists it, then hands it to the runtime and
//!   the gateway; nothing of a rejected deploy is applied;
//! - [`bundle`]: unpacking uploaded app bundles safely, with digests;
//! - [`store`]: the [`MetadataStore`] trait, and the file store of older data dirs;
//! - [`raft_store`]: [`RaftStore`], app metadata in its own Raft group, and the move from files;
//! - [`view`]: the JSON shapes the API returns;
//! - [`error`]: [`ControlError`] and its stable codes.
//!
//! It must not depend on the API or the CLI: it is called by them.

pub mod bundle;
pub mod control;
pub mod error;
pub mod raft_store;
pub mod store;
pub mod view;

pub use control::{Control, ControlParts};
pub use error::{ControlError, ErrorCode};
pub use raft_store::RaftStore;
pub use store::{AppRecord, FileStore, MetadataStore};
