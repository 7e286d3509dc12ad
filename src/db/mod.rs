//! What is installed, and changing it safely: the database, the commit journal, the lock.

pub mod journal;
pub mod lock;
pub mod staging;
pub mod state;
