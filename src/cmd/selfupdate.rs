//! `self-update`: replace the running binary with the newest signed release.

use crate::ctx::Ctx;
use crate::error::{self, Result};

pub fn self_update(_ctx: &Ctx, _a: &crate::cli::SelfUpdate) -> Result<i32> {
    Err(error::io_msg("'self-update' is not built yet"))
}

