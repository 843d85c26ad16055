"""Public surface of the ONVIF/discovery modules: every name in __all__ exists (STYLE: HX exports test)."""

from __future__ import annotations

import importlib

import pytest

MODULES = ["agent.device", "agent.discovery", "agent.onvif_client", "agent.onvif_parsers",
           "agent.survey", "agent.cli_discover", "agent.inventory"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__, name
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.{attr}"


def test_exception_tree_is_as_documented() -> None:
    from agent import onvif_client as oc

    for cls in (oc.OnvifUnreachable, oc.OnvifTimeout, oc.OnvifAuthError, oc.OnvifProtocolError):
        assert issubclass(cls, oc.OnvifError)
        assert cls.__name__ in (oc.__doc__ or "")
    # Timeouts are explicit and connect is tighter than read.
    assert oc.DEFAULT_TIMEOUTS.connect < oc.DEFAULT_TIMEOUTS.read < oc.DEFAULT_TIMEOUTS.total


@pytest.mark.parametrize(("message", "code", "auth"), [
    ("Sender not authorized", "s:Receiver", True),
    ("", "ter:NotAuthorized", True),
    ("Authorization required", "s:Sender", True),
    ("The security token could not be authenticated or authorized", "wsse:FailedAuthentication", True),
    ("Action not supported: GetNetworkInterfaces", "s:Receiver", False),
    ("Unknown fault occured", None, False),
])
def test_auth_faults_are_recognised(message: str, code: str | None, auth: bool) -> None:
    import zeep.exceptions

    from agent.onvif_client import _is_auth_fault

    assert _is_auth_fault(zeep.exceptions.Fault(message, code=code)) is auth
