//! SSYNCP (Stateful Synchronization Protocol) wire codec, versions 0 and 1.
