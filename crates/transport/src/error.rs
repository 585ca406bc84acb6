//! Errors of the transport.

use comity_node::NodeError;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A TLS configuration or identity that cannot be used.
    #[error("tls: {0}")]
    Tls(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Node(#[from] NodeError),
}
