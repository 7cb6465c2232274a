"""The officer console: a web application for a port's lanes (``lanecam console``).

Referral queue and per-lane live vehicles from the site's broker, the document photo beside
the chosen crop (fetched from the lane's crop service over mutual TLS, :mod:`.lanes`; the lane
decrypts it from its own vault and audits the read with the officer's id), decisions written
to that vault's audit log through the same service, lane health, the audit log.  Needs
the ``console`` extra; ``import lanecam`` does not load it.
"""
