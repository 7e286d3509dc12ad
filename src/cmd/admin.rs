//! Housekeeping: `stats`, `doctor`, `clean`, `config`.

use crate::ctx::Ctx;
use crate::error::{self, Result};

pub fn stats(_ctx: &Ctx) -> Result<i32> {
    Err(error::io_msg("'stats' is not built yet"))
}

pub fn doctor(_ctx: &Ctx) -> Result<i32> {
    Err(error::io_msg("'doctor' is not built yet"))
}

pub fn clean(_ctx: &Ctx, _all: bool) -> Result<i32> {
    Err(error::io_msg("'clean' is not built yet"))
}

pub fn config(_ctx: &Ctx, _args: &[String]) -> Result<i32> {
    Err(error::io_msg("'config' is not built yet"))
}

