"""Encrypted capture storage with retention and a tamper-evident audit log."""

from .keys import MasterKey, generate_key_file
from .vault import AuditReport, CaptureVault, VaultRecord

__all__ = ["AuditReport", "CaptureVault", "MasterKey", "VaultRecord", "generate_key_file"]
