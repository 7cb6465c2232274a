"""The officer console: a web application for a port's lanes (``lanecam console``).

Referral queue and per-lane live vehicles from the site's broker, the document photo beside
the chosen crop (decrypted from the lane's vault on demand, every read audited with the
officer's id), decisions written to the vault's audit log, lane health, the audit log.  Needs
the ``console`` extra; ``import lanecam`` does not load it.
"""
