"""Encrypted capture storage with retention and a tamper-evident audit log."""

from .audit import PROBLEM_KINDS, AuditHead, Problem, VerifyReport
from .keys import MasterKey, generate_key_file
from .vault import AuditReport, CaptureVault, VaultRecord

__all__ = ["PROBLEM_KINDS", "AuditHead", "AuditReport", "CaptureVault", "MasterKey", "Problem",
           "VaultRecord", "VerifyReport", "generate_key_file"]
