"""Fuzzing the score card and the committee's stage-II points: never a server error, and
a refused card or points change nothing."""
from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from test_fuzz import FUZZ, ODD_STRINGS
from test_review import add_application, add_assignment, world  # noqa: F401  (fixtures)

values = st.one_of(st.text(max_size=30), st.sampled_from(ODD_STRINGS),
                   st.from_regex(r"-?[0-9]{0,4}([.,][0-9]{0,4})?", fullmatch=True))


def _names(page: str) -> list[str]:
    return sorted({n for n in re.findall(
        r'<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"', page) if n != "csrf_token"})


@FUZZ
@given(data=st.data())
def test_the_score_card_never_fails(world, clients, data):  # noqa: F811
    if not hasattr(world, "fuzz_card"):
        application_id = add_application(world, 1, status="accepted")
        world.fuzz_card = add_assignment(world, application_id, world.evaluators[0],
                                         status="declared")
        world.fuzz_client = clients("gmina-a")
        world.fuzz_client.login("ocena1@example.org")
        page = world.fuzz_client.get(f"/evaluation/{world.fuzz_card}").get_data(as_text=True)
        world.fuzz_names = [n for n in _names(page) if n.startswith(("points-", "justif"))]
        assert world.fuzz_names, "the card has its criteria"
    payload = {name: data.draw(values) for name in data.draw(
        st.lists(st.sampled_from(world.fuzz_names), unique=True))}
    payload["action"] = data.draw(st.sampled_from(["save", "submit", "", "x"]))
    response = world.fuzz_client.post(f"/evaluation/{world.fuzz_card}/card", data=payload)
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
