//! Signing commands: `key generate`, `sign`, `verify`, and the old `cert-*` names.

use crate::ctx::Ctx;
use crate::error::{self, Result};

pub fn key(_ctx: &Ctx, _a: &crate::cli::Key) -> Result<i32> {
    Err(error::io_msg("'key' is not built yet"))
}

pub fn sign(_ctx: &Ctx, _a: &crate::cli::Sign) -> Result<i32> {
    Err(error::io_msg("'sign' is not built yet"))
}

pub fn verify(_ctx: &Ctx, _a: &crate::cli::Verify) -> Result<i32> {
    Err(error::io_msg("'verify' is not built yet"))
}

pub fn cert_info(_ctx: &Ctx, _a: &crate::cli::CertInfo) -> Result<i32> {
    Err(error::io_msg("'cert-info' is not built yet"))
}

pub fn cert_create(_ctx: &Ctx, _a: &crate::cli::CertCreate) -> Result<i32> {
    Err(error::io_msg("'cert-create' is not built yet"))
}

pub fn cert_scan(_ctx: &Ctx, _a: &crate::cli::CertScan) -> Result<i32> {
    Err(error::io_msg("'cert-scan' is not built yet"))
}

/// Signs `file` with the minisign secret key at `secret`, writing `file.minisig`.
pub fn sign_file(_secret: &std::path::Path, _file: &std::path::Path) -> Result<()> {
    Err(error::io_msg("signing is not built yet"))
}
