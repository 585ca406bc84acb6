//! Transparency log (work in progress).
