"""Which emulated devices the camera tests use (a module so test files can import it)."""

# pylon camera emulator serials with PYLON_CAMEMU=3 (set in tests/conftest.py)
PYLON_SERIALS = ("0815-0000", "0815-0001", "0815-0002")
# viky.cti devices (genicam wheel): VikyTL_DEV_red/green/blue
VIKY_SERIALS = ("0", "1", "2")
