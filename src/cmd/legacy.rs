//! The old tool's formats: `install-local FILE.alp` and `migrate` from ~/.alp.

use crate::ctx::Ctx;
use crate::error::{self, Result};

pub fn install_local(_ctx: &Ctx, _file: &str) -> Result<i32> {
    Err(error::io_msg("'install-local' is not built yet"))
}

pub fn migrate(_ctx: &Ctx, _from: Option<&str>) -> Result<i32> {
    Err(error::io_msg("'migrate' is not built yet"))
}

