"""Each person sees a check's options in an order of their own, the same on every visit, so nobody
learns that "the answer is the second one"; an answer names options by their own numbers."""

from __future__ import annotations

import re
from collections import Counter

from conftest import csrf_token
from hypothesis import given
from hypothesis import strategies as st

from curricula.model import Check, Option

FIVE = [
    (
        "triage",
        "Which of these is a balancing measure?",
        [
            ("Door-to-needle time", False),
            ("Staff overtime hours while a new triage runs", True),
            ("Patients seen per hour", False),
            ("Length of stay", False),
            ("Readmissions within 30 days", False),
        ],
        "Balancing measures watch for harm elsewhere.",
    ),
]
LABEL = re.compile(r'value="(\d+)" id="check-triage-option-\d+"[^>]*>\s*<label[^>]*>([^<]+)</label>')


def shown(client) -> list[tuple[int, str]]:
    return [(int(n), text) for n, text in LABEL.findall(client.get("/modules/pdsa").get_data(as_text=True))]


def test_people_see_their_own_order_and_it_stays_put(lib, make, tree, login_as):
    lib.module("pdsa", checks=FIVE)
    people = [make.person(tree, email=f"p{i}@alpha.test") for i in range(6)]
    orders = []
    for person in people:
        client = login_as(person)
        first = shown(client)
        assert sorted(first) == [
            (n, text) for n, (text, _) in enumerate(FIVE[0][2])
        ]  # every option, its own number
        assert shown(login_as(person)) == first  # another visit, another session: the same order
        orders.append(tuple(n for n, _ in first))
    assert len(set(orders)) > 1


def test_an_answer_chosen_from_a_shuffled_list_is_judged_by_the_option_chosen(lib, learner, login_as):
    lib.module("pdsa", checks=FIVE)
    client = login_as(learner)
    number = next(n for n, text in shown(client) if text.startswith("Staff overtime"))
    token = csrf_token(client, "/modules/pdsa")
    resp = client.post("/modules/pdsa/checks/triage", data={"csrf_token": token, "chosen": [str(number)]})
    assert resp.status_code == 303
    assert "Correct." in client.get("/modules/pdsa").get_data(as_text=True)


@given(seed=st.text(max_size=20), count=st.integers(min_value=0, max_value=8))
def test_an_order_is_every_option_once(seed, count):
    check = Check("k", "Q?", tuple(Option(str(i), i == 0) for i in range(count)), "", 1)
    order = check.order_for(seed)
    assert sorted(order) == list(range(count))
    assert check.order_for(seed) == order


def test_the_correct_option_lands_in_every_position_about_as_often():
    check = Check("k", "Q?", tuple(Option(str(i), i == 1) for i in range(4)), "", 1)
    places = Counter(check.order_for(f"{person}/module").index(1) for person in range(4000))
    assert set(places) == {0, 1, 2, 3}
    assert all(800 < n < 1200 for n in places.values()), places
