//! Shared harness for the end-to-end suite: the local stack and temporary namespaces.
