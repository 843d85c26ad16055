"""ingest.role and ingest.province (issue 17): a secondary host is named in settings, bounded like any setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aggregator.settings.ingest import IngestSettings


def test_primary_by_default_secondary_when_asked() -> None:
    assert IngestSettings().primary and IngestSettings().province is None
    secondary = IngestSettings(role="secondary", province="50")
    assert not secondary.primary and secondary.province == "50"


@pytest.mark.parametrize(("field", "value"), [("role", "tertiary"), ("province", "5"), ("province", "+")])
def test_bad_role_or_province_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=field):
        IngestSettings(**{field: value})  # type: ignore[arg-type]
