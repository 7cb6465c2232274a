from __future__ import annotations

import pytest

from lanecam import errors as E


def test_hierarchy_by_failure_mode() -> None:
    for cls in (E.DeviceError, E.LimitError, E.ConfigError, E.StorageError):
        assert issubclass(cls, E.LanecamError)
    for cls in (E.DeviceTimeoutError, E.DeviceLostError, E.ProtocolError, E.UnsupportedFeatureError):
        assert issubclass(cls, E.DeviceError)
    assert issubclass(E.DeviceTimeoutError, TimeoutError)
    assert issubclass(E.LimitError, ValueError) and issubclass(E.ConfigError, ValueError)


def test_context_is_kept_and_rendered() -> None:
    err = E.LimitError("too long", device="pylon:1", key="exposure_time", allowed="[0.0001, 3] s")
    assert (err.device, err.key, err.allowed) == ("pylon:1", "exposure_time", "[0.0001, 3] s")
    assert str(err) == "too long [device=pylon:1, key=exposure_time, allowed=[0.0001, 3] s]"


class TimeoutException(Exception):  # spelled like genicam's and pylon's
    pass


class AccessDeniedException(Exception):
    pass


@pytest.mark.parametrize(
    ("raised", "expected"),
    [(TimeoutException("Grab timed out"), E.DeviceTimeoutError),
     (AccessDeniedException("gone"), E.DeviceLostError),
     (RuntimeError("node is not writable"), E.DeviceError)],
)
def test_vendor_errors_are_translated_with_cause(raised: Exception, expected: type) -> None:
    with pytest.raises(expected) as info:
        with E.vendor_errors("pylon:1", feature="ExposureTimeAbs", allowed="[100, 3e6]"):
            raise raised
    assert info.type is expected
    assert info.value.__cause__ is raised
    assert info.value.device == "pylon:1" and info.value.feature == "ExposureTimeAbs"


def test_our_own_errors_pass_through_unchanged() -> None:
    original = E.LimitError("x", key="k")
    with pytest.raises(E.LimitError) as info:
        with E.vendor_errors("dev"):
            raise original
    assert info.value is original
