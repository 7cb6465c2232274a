"""Shipped firmware profiles: a folder per device kind (cameras, illuminators, rotators,
sensors), mapped into the package as ``lanecam.firmware_profiles`` at build time.  Read through
:mod:`lanecam.devices.profiles`; this package holds data only."""
