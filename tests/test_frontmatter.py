import pytest

from triops.content.frontmatter import FrontMatterError, split_front_matter
from triops.content.markdown import count_words, parse_body, render_plan, resolve_links, slugify


def test_split_front_matter_returns_meta_and_body_with_body_line():
    split = split_front_matter("---\nid: a\ntitle: A\n---\nBody line\n")
    assert split.meta == "id: a\ntitle: A"
    assert split.body == "Body line\n"
    assert split.body_line == 5


def test_split_front_matter_error_if_first_line_is_not_dashes():
    with pytest.raises(FrontMatterError) as exc:
        split_front_matter("id: a\n---\n")
    assert exc.value.line == 1
    assert "must start with '---'" in exc.value.message


def test_split_front_matter_error_if_never_closed():
    with pytest.raises(FrontMatterError, match="never closed"):
        split_front_matter("---\nid: a\ntitle: A\n")


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Release strategies", "release-strategies"),
        ("CI/CD: the `main` branch", "ci-cd-the-main-branch"),
        ("  What's new in 2026?  ", "what-s-new-in-2026"),
    ],
)
def test_slugify_gives_stable_anchors(heading, anchor):
    assert slugify(heading) == anchor


def test_parse_body_splits_admonitions_and_keeps_file_lines():
    body = "Intro\n\n## Part one\n\n:::tip Remember\nSmall batches.\n:::\n\nAfter.\n"
    blocks, headings, links, problems = parse_body(body, "x.md", first_line=10)
    assert problems == []
    assert [(b.kind, b.title) for b in blocks] == [
        ("markdown", ""),
        ("tip", "Remember"),
        ("markdown", ""),
    ]
    assert blocks[1].line == 14
    assert [(h.text, h.anchor, h.line) for h in headings] == [("Part one", "part-one", 12)]


def test_parse_body_ignores_markers_inside_code_fences():
    body = "```yaml\n## not a heading\n:::note\n```\nText\n"
    blocks, headings, _, problems = parse_body(body, "x.md", 1)
    assert problems == [] and headings == []
    assert len(blocks) == 1


def test_parse_body_reports_unknown_admonition_kind_with_line():
    _, _, _, problems = parse_body("a\n:::danger Careful\nx\n:::\n", "x.md", 7)
    assert [str(p) for p in problems] == [
        "x.md:8: error: unknown admonition kind 'danger' (use one of: note, tip, warning, example)"
    ]


def test_parse_body_reports_unclosed_admonition_at_its_opening_line():
    _, _, _, problems = parse_body("a\n\n:::note\nnever closed\n", "x.md", 20)
    assert [str(p) for p in problems] == ["x.md:22: error: admonition 'note' is never closed"]


def test_parse_body_collects_lesson_links_with_anchor_and_line():
    _, _, links, _ = parse_body("See [a](lesson:foo-bar#sec) and [b](lesson:baz).", "x.md", 3)
    assert [(link.target, link.anchor, link.line) for link in links] == [
        ("foo-bar", "sec", 3),
        ("baz", "", 3),
    ]


def test_resolve_links_points_at_learn_page():
    assert resolve_links("[a](lesson:x#y)") == "[a](/learn?lesson=x#y)"


def test_count_words_skips_code_blocks():
    assert count_words("one two\n```\nnot these words\n```\nthree") == 3


def test_render_plan_orders_headings_markdown_and_callouts():
    blocks, _, _, _ = parse_body("Intro\n## A\ntext\n:::warning W\nbody\n:::\n", "x.md", 1)
    plan = render_plan(blocks)
    assert plan == [
        ("markdown", "Intro"),
        ("heading", "2", "A", "a"),
        ("markdown", "text"),
        ("admonition", "warning", "W", "body"),
    ]
