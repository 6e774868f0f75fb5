from datetime import time, timedelta
from pathlib import Path
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from bot.config import (
    ConfigError,
    HuddleSchedule,
    OrgConfig,
    bundled_example_path,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
)

SNIPPET = """\
organization: {name: Example Health, timezone: America/Chicago}
people:                       # a directory: handle -> ids on each platform
  dana: {name: Dana Reyes, slack: U0DANA01, teams: "29:1dana"}
  sam:  {name: Sam Patel,  slack: U0SAM001}
safety_officers: [sam]
escalation:
  acknowledge_within: {immediate: 15m, high: 1h, moderate: 24h, low: 72h}
units:
  - id: medicine
    name: Department of Medicine
    tier: 2
    leaders: [sam]
    channels: {slack: C0MEDLEAD}
  - id: 4west
    name: 4 West Med-Surg
    tier: 1
    parent: medicine
    timezone: America/Chicago
    leaders: [dana]
    channels: {slack: C04WEST01, teams: "19:4west@thread.tacv2"}
    leaders_channel: {slack: C04WLEAD1}
    huddles:
      - {at: "07:00", days: daily, window: 30m}
      - {at: "19:00", days: daily, window: 30m}
"""

# Five lines, so the first unit in each test below starts on line 6.
HEADER = """\
organization: {name: Example Health, timezone: America/Chicago}
people:
  dana: {name: Dana Reyes, slack: U0DANA01, teams: "29:1dana"}
  sam: {name: Sam Patel, slack: U0SAM001}
units:
"""


def problems_in(units_yaml: str) -> list[str]:
    """Return the problems reported for HEADER followed by the given units."""
    with pytest.raises(ConfigError) as caught:
        parse_config(HEADER + dedent(units_yaml), source="huddlebot.yaml")
    return caught.value.problems


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(dedent(text), source="huddlebot.yaml")
    return caught.value.problems


# --- files that load -------------------------------------------------------------------------------


def test_the_bundled_example_loads():
    config = load_config(bundled_example_path())

    assert config.organization.name == "Example Health"
    assert sorted(unit.tier for unit in config.units) == [1, 1, 1, 1, 2, 2, 3]
    assert config.leader_handles("4west") == ["dana", "lee", "casey", "sam"]
    assert all(unit.huddles for unit in config.units)


def test_the_documented_snippet_loads_with_defaults_filled_in():
    config = parse_config(SNIPPET)

    assert config.escalation.anonymous_delay.min == timedelta(minutes=2)
    assert config.escalation.anonymous_delay.max == timedelta(minutes=10)
    assert config.escalation.nudge_open_after == timedelta(hours=48)
    assert config.huddle_grace == timedelta(hours=2)
    west = config.unit("4west")
    assert west is not None
    assert [h.at for h in west.huddles] == [time(7), time(19)]
    assert west.questions.look_back.startswith("Look back:")
    assert config.unit("medicine").leaders_channel is None


def test_severities_left_out_keep_their_defaults():
    config = parse_config(
        SNIPPET.replace("{immediate: 15m, high: 1h, moderate: 24h, low: 72h}", "{high: 2h}")
    )

    assert config.acknowledge_within("high") == timedelta(hours=2)
    assert config.acknowledge_within("immediate") == timedelta(minutes=15)
    assert config.acknowledge_within("low") == timedelta(hours=72)


def test_an_unquoted_evening_time_is_a_time_not_a_base_60_number():
    config = parse_config(SNIPPET.replace('at: "19:00"', "at: 19:00"))

    assert config.unit("4west").huddles[1].at == time(19)


def test_load_config_names_the_file_in_each_problem(tmp_path: Path):
    path = tmp_path / "huddlebot.yaml"
    path.write_text(SNIPPET.replace("tier: 1", "tier: 4"), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.problems == [f"{path}:16: units[1].tier: input should be 1, 2 or 3 (got 4)"]
    assert str(caught.value) == caught.value.problems[0]


def test_a_missing_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(tmp_path / "nope.yaml")


# --- files with mistakes: each problem names the line, the field and what to do ---------------------


def test_duplicate_unit_id():
    problems = problems_in("""\
        - {id: 4west, name: 4 West, tier: 1, leaders: [dana]}
        - {id: 4west, name: 4 West again, tier: 1, leaders: [dana]}
    """)

    assert problems == ["huddlebot.yaml:7: units[1].id: duplicate unit id '4west'; units[0] has it"]


def test_parent_cycle_names_the_units_in_it():
    problems = problems_in("""\
        - {id: a, name: A, tier: 3, parent: c, leaders: [sam]}
        - {id: b, name: B, tier: 3, parent: a}
        - {id: c, name: C, tier: 3, parent: b}
    """)

    assert (
        "huddlebot.yaml:6: units[0].parent: parent cycle: a → c → b → a; a unit cannot be above itself"
        in (problems)
    )


def test_parent_must_be_a_known_unit_of_a_higher_tier():
    problems = problems_in("""\
        - {id: medicine, name: Medicine, tier: 2, leaders: [sam]}
        - {id: 4west, name: 4 West, tier: 2, parent: medicine}
        - {id: 5east, name: 5 East, tier: 1, parent: medicin}
    """)

    assert problems[0].startswith(
        "huddlebot.yaml:7: units[1].parent: parent 'medicine' is tier 2, not above this unit's tier 2"
    )
    assert (
        problems[1] == "huddlebot.yaml:8: units[2].parent: unknown unit 'medicin' (did you mean 'medicine'?)"
    )


def test_unknown_leader_handle():
    problems = problems_in("""\
        - id: 4west
          name: 4 West
          tier: 1
          leaders: [dana, dnaa]
    """)

    assert problems == [
        "huddlebot.yaml:9: units[0].leaders[1]: unknown person 'dnaa'; add them under people: "
        "(did you mean 'dana'?)"
    ]


def test_unknown_safety_officer_handle():
    problems = problems_of("""\
        organization: {name: X, timezone: UTC}
        people: {sam: {name: Sam}}
        safety_officers: [sam, pat]
        units: [{id: a, name: A, tier: 1, leaders: [sam]}]
    """)

    assert problems == ["huddlebot.yaml:3: safety_officers[1]: unknown person 'pat'; add them under people:"]


def test_bad_time_zone_in_the_organization_and_in_a_unit():
    problems = problems_of("""\
        organization:
          name: Example Health
          timezone: America/Chicag
        people: {sam: {name: Sam}}
        units:
          - id: a
            name: A
            tier: 1
            timezone: Mars/Olympus_Mons
            leaders: [sam]
    """)

    assert problems == [
        "huddlebot.yaml:3: organization.timezone: unknown time zone 'America/Chicag' "
        "(use an IANA name such as America/Chicago)",
        "huddlebot.yaml:9: units[0].timezone: unknown time zone 'Mars/Olympus_Mons' "
        "(use an IANA name such as America/Chicago)",
    ]


def test_window_longer_than_the_gap_to_the_next_huddle():
    problems = problems_in("""\
        - id: 4west
          name: 4 West
          tier: 1
          leaders: [dana]
          huddles:
            - {at: "07:00", window: 30m}
            - at: "13:00"
            - at: "19:00"
              window: 8h
            - {at: "03:00", days: weekdays, window: 1h}
    """)

    # The 03:00 huddle runs on weekdays only, so the 19:00 one's window collides on Sunday to Thursday nights.
    assert problems == [
        "huddlebot.yaml:14: units[0].huddles[2].window: window 8h is as long as the 8h gap "
        "to the next huddle (03:00)"
    ]


def test_window_message_names_the_gap_and_the_next_huddle_time():
    problems = problems_in("""\
        - id: 4west
          name: 4 West
          tier: 1
          leaders: [dana]
          huddles:
            - {at: "07:00", days: daily, window: 8h}
            - {at: "13:00", days: daily}
    """)

    assert problems == [
        "huddlebot.yaml:11: units[0].huddles[0].window: window 8h is longer than the 6h gap "
        "to the next huddle (13:00)"
    ]


def test_window_check_wraps_from_sunday_to_monday():
    problems = problems_in("""\
        - id: 4west
          name: 4 West
          tier: 1
          leaders: [dana]
          huddles:
            - {at: "09:00", days: [mon]}
            - {at: "09:00", days: [sun], window: 1d1h}
    """)

    assert problems == [
        "huddlebot.yaml:12: units[0].huddles[1].window: window 1d1h is longer than the 1d gap "
        "to the next huddle (09:00)"
    ]


def test_two_huddles_at_the_same_time_on_a_shared_day():
    problems = problems_in("""\
        - id: 4west
          name: 4 West
          tier: 1
          leaders: [dana]
          huddles:
            - {at: "07:00", days: weekdays}
            - {at: "07:00", days: [fri, sat]}
    """)

    assert problems == ["huddlebot.yaml:12: units[0].huddles[1].at: huddles[0] already runs at 07:00 on fri"]


def test_misspelt_key_is_reported_with_a_suggestion():
    problems = problems_in("""\
        - id: 4west
          name: 4 West
          tier: 1
          leadres: [dana]
    """)

    assert (
        problems[0] == "huddlebot.yaml:9: units[0].leadres: unknown key 'leadres' (did you mean 'leaders'?)"
    )


def test_bad_duration():
    problems = problems_of("""\
        organization: {name: X, timezone: UTC}
        people: {sam: {name: Sam}}
        escalation:
          acknowledge_within:
            immediate: 15 minutes
        units: [{id: a, name: A, tier: 1, leaders: [sam]}]
    """)

    assert problems == [
        "huddlebot.yaml:5: escalation.acknowledge_within.immediate: '15 minutes' is not a duration; "
        "write a number and a unit (s, m, h or d) with no spaces, such as 30s, 15m, 1h, 2d or 1h30m"
    ]


def test_unknown_severity_key():
    problems = problems_of("""\
        organization: {name: X, timezone: UTC}
        people: {sam: {name: Sam}}
        escalation:
          acknowledge_within:
            high: 1h
            urgent: 30m
        units: [{id: a, name: A, tier: 1, leaders: [sam]}]
    """)

    assert problems == [
        "huddlebot.yaml:6: escalation.acknowledge_within.urgent: unknown severity 'urgent'; "
        "use immediate, high, moderate or low"
    ]


def test_yaml_syntax_error_names_the_line():
    problems = problems_of("""\
        organization: {name: X, timezone: UTC}
        units:
          - id: a
           name: A
    """)

    assert len(problems) == 1
    assert problems[0].startswith("huddlebot.yaml:4: not valid YAML:")


def test_unclosed_bracket_names_where_it_was_opened():
    problems = problems_of("""\
        organization: {name: X, timezone: UTC}
        units: [{id: a, name: A, tier: 1}
    """)

    assert problems[0].startswith("huddlebot.yaml:2: not valid YAML:")
    assert "starts on line 2" in problems[0]


def test_a_key_written_twice():
    problems = problems_of("""\
        organization: {name: X, timezone: UTC}
        people: {sam: {name: Sam}}
        units: [{id: a, name: A, tier: 1, leaders: [sam]}]
        people: {dana: {name: Dana}}
    """)

    # YAML keeps only the second `people:`, which is why sam is unknown; both are worth saying.
    assert problems == [
        "huddlebot.yaml:3: units[0].leaders[0]: unknown person 'sam'; add them under people:",
        "huddlebot.yaml:4: people: key 'people' appears twice here (also on line 2)",
    ]


def test_missing_setting_points_at_the_unit_it_belongs_to():
    problems = problems_in("""\
        - id: 4west
          tier: 1
          leaders: [dana]
    """)

    assert problems == ["huddlebot.yaml:6: units[0].name: missing; this setting is required"]


def test_a_channel_belongs_to_one_unit_and_one_purpose():
    problems = problems_in("""\
        - id: 4west
          name: 4 West
          tier: 1
          leaders: [dana]
          channels: {slack: C04WEST01}
          leaders_channel: {slack: C04WEST01}
        - id: 5east
          name: 5 East
          tier: 1
          leaders: [dana]
          channels: {slack: C04WEST01}
    """)

    assert problems == [
        "huddlebot.yaml:11: units[0].leaders_channel.slack: slack channel C04WEST01 is already "
        "the unit channel of '4west'; each channel belongs to one unit and one purpose",
        "huddlebot.yaml:16: units[1].channels.slack: slack channel C04WEST01 is already "
        "the unit channel of '4west'; each channel belongs to one unit and one purpose",
    ]


def test_two_people_with_the_same_slack_id():
    problems = problems_of("""\
        organization: {name: X, timezone: UTC}
        people:
          sam: {name: Sam, slack: U0SAM001}
          pat: {name: Pat, slack: U0SAM001}
        units: [{id: a, name: A, tier: 1, leaders: [sam]}]
    """)

    assert problems == [
        "huddlebot.yaml:4: people.pat.slack: slack id U0SAM001 is already sam's; each person needs their own"
    ]


def test_a_unit_nobody_could_acknowledge_for():
    problems = problems_in("""\
        - {id: 4west, name: 4 West, tier: 1}
    """)

    assert problems == [
        "huddlebot.yaml:6: units[0].leaders: unit '4west' has no leaders and neither has any unit above it, "
        "so nobody could acknowledge its concerns"
    ]


def test_all_problems_are_reported_at_once_in_file_order():
    problems = problems_in("""\
        - id: 4west
          name: 4 West
          tier: 1
          leaders: [dnaa]
        - id: 5east
          name: 5 East
          tier: one
          leaders: [dana]
    """)

    assert [problem.split(": ")[0:2] for problem in problems] == [
        ["huddlebot.yaml:9", "units[0].leaders[0]"],
        ["huddlebot.yaml:12", "units[1].tier"],
    ]


def test_an_empty_file():
    assert problems_of("") == ["huddlebot.yaml: the file is empty; start from huddlebot.example.yaml"]


# --- durations ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("24h", timedelta(hours=24)),
        ("72h", timedelta(hours=72)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (90, timedelta(seconds=90)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["15 minutes", "", "h", "1.5h", "30m1h", "-5m", "soon"])
def test_parse_duration_rejects_with_examples(text):
    with pytest.raises(ValueError, match="such as 30s, 15m, 1h, 2d or 1h30m"):
        parse_duration(text)


def test_format_duration_writes_what_parse_duration_reads():
    for text in ["30s", "15m", "1h30m", "2d", "1d1h"]:
        assert format_duration(parse_duration(text)) == text


# --- helpers the rest of the bot uses -----------------------------------------------------------------


@pytest.fixture
def example() -> OrgConfig:
    return load_config(bundled_example_path())


def test_leader_handles_include_ancestors_unless_asked_not_to(example: OrgConfig):
    assert example.leader_handles("4west") == ["dana", "lee", "casey", "sam"]
    assert example.leader_handles("4west", include_ancestors=False) == ["dana"]
    assert example.leader_handles("nursing-safety") == ["casey", "sam"]


def test_ancestors_and_descendants(example: OrgConfig):
    assert [u.id for u in example.ancestors("sicu")] == ["surgery", "nursing-safety"]
    assert [u.id for u in example.descendants("medicine")] == ["4west", "5east", "micu"]
    assert [u.id for u in example.descendants("nursing-safety")] == [
        "medicine",
        "4west",
        "5east",
        "micu",
        "surgery",
        "sicu",
    ]
    with pytest.raises(KeyError):
        example.ancestors("nowhere")


def test_handle_for_each_platform(example: OrgConfig):
    assert example.handle_for("slack", "U0DANA01") == "dana"
    assert example.handle_for("teams", "29:1dana-reyes") == "dana"
    assert example.handle_for("console", "dana") == "dana"
    assert example.handle_for("console", "U0DANA01") is None
    assert example.handle_for("slack", "U0NOBODY") is None
    assert example.person("dana").name == "Dana Reyes"


def test_unit_for_channel(example: OrgConfig):
    west = example.unit("4west")
    assert example.unit_for_channel("slack", "C04WEST01") == (west, "unit")
    assert example.unit_for_channel("slack", "C04WLEAD1") == (west, "leaders")
    assert example.unit_for_channel("teams", "19:4west@thread.tacv2") == (west, "unit")
    assert example.unit_for_channel("console", "4west") == (west, "unit")
    assert example.unit_for_channel("console", "4west-leaders") == (west, "leaders")
    assert example.unit_for_channel("slack", "C0UNKNOWN") is None
    assert example.unit_for_channel("console", "nowhere-leaders") is None


def test_timezone_for_falls_back_to_the_organization():
    config = parse_config(
        SNIPPET.replace("timezone: America/Chicago\n    leaders", "timezone: Asia/Manila\n    leaders")
    )

    assert config.timezone_for("4west") == ZoneInfo("Asia/Manila")
    assert config.timezone_for("medicine") == ZoneInfo("America/Chicago")


def test_find_unit_by_id_or_name(example: OrgConfig):
    assert example.find_unit("MICU").id == "micu"
    assert example.find_unit("  4 west med-surg ").id == "4west"
    assert example.find_unit("5 East") is None


def test_units_by_id(example: OrgConfig):
    assert list(example.units_by_id) == [u.id for u in example.units]


def test_runs_on_weekdays_weekends_and_listed_days():
    weekdays = HuddleSchedule(at="09:00", days="weekdays")
    weekends = HuddleSchedule(at="09:00", days="weekends")
    listed = HuddleSchedule(at="09:00", days=["mon", "Wednesday", "fri"])

    assert [weekdays.runs_on(d) for d in range(7)] == [True] * 5 + [False] * 2
    assert [weekends.runs_on(d) for d in range(7)] == [False] * 5 + [True] * 2
    assert [listed.runs_on(d) for d in range(7)] == [True, False, True, False, True, False, False]
    assert HuddleSchedule(at="07:00").runs_on(6)


def test_building_a_config_in_code_runs_the_same_checks():
    with pytest.raises(ConfigError, match=r"units\[0\]\.leaders\[0\]: unknown person 'ghost'"):
        OrgConfig.model_validate(
            {
                "organization": {"name": "X", "timezone": "UTC"},
                "units": [{"id": "a", "name": "A", "tier": 1, "leaders": ["ghost"]}],
            }
        )
