use crate::{Greeter, Result};

/// Starts units of work. The data layer implements it with a database transaction,
/// so a use case can make several writes succeed or fail together without knowing
/// anything about SQL.
#[async_trait::async_trait]
pub trait Transactor: Send + Sync {
    /// A new unit of work.
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>>;
}

/// Writes that commit together. Dropped without [`UnitOfWork::commit`], none of
/// them happened.
#[async_trait::async_trait]
pub trait UnitOfWork: Send {
    /// Stores a greeting.
    async fn save_greeting(&mut self, greeter: &Greeter) -> Result<()>;
    /// Counts one more greeting for `name`; returns the new total.
    async fn count_greeting(&mut self, name: &str) -> Result<u64>;
    /// Makes every write of this unit permanent.
    async fn commit(self: Box<Self>) -> Result<()>;
}
