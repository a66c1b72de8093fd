"""Lists render a case's state and channel through `choice_label`, which must say what Django's
`get_FOO_display()` says, in every language."""

from __future__ import annotations

import pytest
from django.utils import translation

from minqing.cases.models import Case, CaseState, Channel


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_labels_are_djangos_display_values(language):
    with translation.override(language):
        for state in CaseState.values:
            case = Case(state=state, channel=Channel.WECHAT)
            assert case.state_label == case.get_state_display()
        for channel in Channel.values:
            case = Case(state=CaseState.SUBMITTED, channel=channel)
            assert case.channel_label == case.get_channel_display()


def test_an_unknown_value_shows_as_it_is():
    case = Case(state="archived_in_2019", channel="fax")
    assert (case.state_label, case.channel_label) == ("archived_in_2019", "fax")
    assert (case.get_state_display(), case.get_channel_display()) == ("archived_in_2019", "fax")
