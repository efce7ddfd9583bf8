"""Each sandbox world issues ids no other world has issued, as Trigger.dev never issues an id
twice, while the seed still decides what the demo is made of.

The embedded sandbox starts a new world at every boot of the dashboard, whose database keeps
its rows: when a restart re-issued the previous world's ids, the dashboard took the new runs for
the old ones (tests/test_demo_restart.py covers the dashboard's side)."""

from __future__ import annotations

from approvals.sandbox import create_app
from approvals.sandbox.clock import Clock
from approvals.sandbox.world import World


def _demo(seed: int) -> tuple[set[str], list[tuple[str, str]]]:
    sandbox = create_app(scenario="demo", seed=seed)
    world = sandbox.world
    ids = set(world.runs) | set(world.tokens)
    story = sorted((run.task_identifier, str(run.payload)) for run in world.runs.values())
    return ids, story


def test_two_boots_with_the_same_seed_share_the_story_but_no_id() -> None:
    first_ids, first_story = _demo(1)
    second_ids, second_story = _demo(1)

    assert first_story == second_story
    assert not first_ids & second_ids


def test_ids_still_sort_in_creation_order() -> None:
    world = World(Clock())

    ids = [world.new_id() for _ in range(50)]

    assert ids == sorted(ids)
    assert len({len(i) for i in ids}) == 1


def test_a_fixed_generation_gives_the_same_ids() -> None:
    assert (
        World(Clock(), generation="abc123").new_id() == World(Clock(), generation="abc123").new_id()
    )
