"""Fuzzing the committee's stage-II points form: never a server error."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from test_decisions import add, in_tenant, login, world  # noqa: F401  (fixtures)
from test_fuzz import FUZZ, ODD_STRINGS

values = st.one_of(st.text(max_size=30), st.sampled_from(ODD_STRINGS),
                   st.from_regex(r"-?[0-9]{0,3}([.,][0-9]{0,4})?", fullmatch=True))


@FUZZ
@given(data=st.data())
def test_stage_two_points_never_fail(world, add, clients, data):  # noqa: F811
    if not hasattr(world, "fuzz_app"):
        world.fuzz_app = add("A1", "3000.00", stage1="15")
        world.fuzz_client = login(clients, "kom1@example.org")
    members = [str(world.kom1), str(world.kom2), "0", "x", "-5"]
    payload = {f"member_{m}": data.draw(values) for m in data.draw(
        st.lists(st.sampled_from(members), unique=True))}
    payload["action"] = data.draw(st.sampled_from(["points", "no_show", "", "x"]))
    if data.draw(st.booleans()):
        payload["confirm_no_show"] = data.draw(values)
    response = world.fuzz_client.post(f"/committee/applications/{world.fuzz_app}/stage2",
                                      data=payload)
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
