//! Comity wire types (work in progress).
