"""Config files: a typo or a bad value is reported with the file, the line and the field."""

from __future__ import annotations

import pytest

from signpost.config.files import ConfigError, load_signpost_file
from signpost.config.settings import local_secret_key

GOOD = """\
communities:
  - slug: volunteering
    name: Volunteer managers network
    timezone: Europe/London
    topics:
      - slug: recruitment
        name: Recruiting volunteers
        description: Finding, welcoming and keeping volunteers.
        keywords:
          must: [volunteer]
sources:
  - url: https://example.org/
    communities: [volunteering]
  - url: https://example.com/news/
    kind: listing
    allow: ['/news/\\d{4}/']
"""


def write(tmp_path, text: str):
    path = tmp_path / "signpost.yaml"
    path.write_text(text)
    return path


def test_good_file_loads(tmp_path):
    parsed = load_signpost_file(write(tmp_path, GOOD))
    assert parsed.communities[0].topics[0].keywords.must == ["volunteer"]
    assert parsed.sources[1].kind == "listing"


def test_typo_in_a_field_names_file_line_and_suggestion(tmp_path):
    path = write(tmp_path, GOOD.replace("description: Finding", "descripton: Finding"))
    with pytest.raises(ConfigError) as caught:
        load_signpost_file(path)
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == (path, 8)
    assert problem.field == "communities.0.topics.0.descripton"
    assert "did you mean 'description'" in problem.message
    assert f"{path}:8: communities.0.topics.0.descripton" in str(caught.value)


def test_bad_values_are_each_reported_on_their_line(tmp_path):
    text = GOOD.replace("Europe/London", "Europe/Londn").replace("kind: listing", "kind: lisitng")
    with pytest.raises(ConfigError) as caught:
        load_signpost_file(write(tmp_path, text))
    found = {(problem.line, problem.field) for problem in caught.value.problems}
    assert (4, "communities.0.timezone") in found
    assert (15, "sources.1.kind") in found


def test_bad_schedule_names_its_line(tmp_path):
    zone = "    timezone: Europe/London\n"
    text = GOOD.replace(zone, zone + "    schedule: '0 7 * * MONDAY'\n")
    with pytest.raises(ConfigError) as caught:
        load_signpost_file(write(tmp_path, text))
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (5, "communities.0.schedule")
    assert "cron" in problem.message


def test_bad_regex_and_bad_url(tmp_path):
    text = GOOD.replace("'/news/\\d{4}/'", "'/news/(['").replace("https://example.org/", "not a url")
    with pytest.raises(ConfigError) as caught:
        load_signpost_file(write(tmp_path, text))
    messages = {problem.field: problem.message for problem in caught.value.problems}
    assert "sources.0.url" in messages
    assert "bad regular expression" in messages["sources.1.allow"]


def test_yaml_syntax_error_has_a_line(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_signpost_file(write(tmp_path, "communities:\n  - slug: a\n    name: [unclosed\n"))
    assert caught.value.problems[0].field == "(syntax)"
    assert caught.value.problems[0].line >= 3


def test_duplicate_topics_are_refused(tmp_path):
    text = GOOD.replace("    topics:\n", "    topics:\n      - slug: recruitment\n        name: Again\n")
    with pytest.raises(ConfigError, match="duplicate topic 'recruitment'"):
        load_signpost_file(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="No such file"):
        load_signpost_file(tmp_path / "absent.yaml")


def test_local_secret_key_is_made_once_and_kept_private(tmp_path):
    first = local_secret_key(tmp_path / "var")
    assert len(first) >= 40 and local_secret_key(tmp_path / "var") == first
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


# Nine levels of ten aliases each: 10**9 strings once expanded, in under 400 bytes.
LAUGHS = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [{','.join(['*' + chr(97 + n)] * 10)}]\n" for n in range(8)
)


def test_an_alias_bomb_is_refused_at_its_first_alias(tmp_path):
    assert len(LAUGHS.encode()) <= 400
    with pytest.raises(ConfigError) as caught:
        load_signpost_file(write(tmp_path, LAUGHS))
    [problem] = caught.value.problems
    assert problem.line == 1 and "anchors (&a) are not allowed" in problem.message


def test_a_self_referencing_alias_is_a_clear_error_not_a_recursion(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_signpost_file(write(tmp_path, "communities:\n  - slug: a\n    name: A\n    topics: *loop\n"))
    [problem] = caught.value.problems
    assert problem.line == 4 and "aliases (*loop) are not allowed" in problem.message
    with pytest.raises(ConfigError, match="anchors"):
        load_signpost_file(write(tmp_path, "communities: &loop\n  - *loop\n"))


def test_deep_nesting_is_refused_not_a_recursion(tmp_path):
    with pytest.raises(ConfigError, match="nested more than 40 levels"):
        load_signpost_file(write(tmp_path, "sources: " + "[" * 5000 + "]" * 5000 + "\n"))


def test_duplicate_keys_are_refused_with_file_line_and_field(tmp_path):
    text = GOOD.replace("    timezone: Europe/London\n", "    timezone: Europe/London\n    name: Second name\n")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_signpost_file(path)
    [problem] = caught.value.problems
    assert (problem.path, problem.line, problem.field) == (path, 5, "communities.0.name")
    assert "duplicate key" in problem.message


@pytest.mark.parametrize("name", ["Volunteer\r\nBcc: x@example.org", "Tab\there", "Next\x85line", "Nul\x00"])
def test_names_with_control_characters_are_refused(tmp_path, name):
    quoted = name.encode("unicode_escape").decode().replace('"', '\\"')
    for target in ("name: Volunteer managers network", "name: Recruiting volunteers"):
        with pytest.raises(ConfigError, match="control characters") as caught:
            load_signpost_file(write(tmp_path, GOOD.replace(target, f'name: "{quoted}"')))
        assert caught.value.problems[0].line in (3, 7)
    source = GOOD.replace(
        "    communities: [volunteering]\n", f'    communities: [volunteering]\n    name: "{quoted}"\n'
    )
    with pytest.raises(ConfigError, match=r"sources\.0\.name: .*control characters"):
        load_signpost_file(write(tmp_path, source))


def test_a_bad_slug_says_the_rule(tmp_path):
    with pytest.raises(ConfigError, match=r"communities\.0\.slug: use a-z, 0-9 and -"):
        load_signpost_file(write(tmp_path, GOOD.replace("slug: volunteering", "slug: Volunteering Network")))


def test_a_date_that_is_no_date_is_a_problem_on_its_line(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_signpost_file(write(tmp_path, GOOD.replace("name: Volunteer managers network", "name: 2026-02-30")))
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (3, "communities.0.name")
