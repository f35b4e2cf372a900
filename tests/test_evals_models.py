"""What a loaded eval config knows of its assertion types without importing them: the loader
hands each config the types measured with the embedder, so `needs_embedder` follows the
assertion registry while triops.evals.models stands below it."""

import pytest

from triops.evals import load_config

CONFIG = """\
prompts: [hi]
providers: [echo]
tests:
  - assert:
      - {assertion}
"""


@pytest.mark.parametrize(
    ("assertion", "needs"),
    [
        ("{type: similar, value: hello}", True),
        ("{type: not-similar, value: hello}", True),
        ("{type: answer-relevance}", True),
        ("{type: contains, value: hello}", False),
        ("{type: latency, threshold: 500}", False),
    ],
)
def test_an_echo_config_needs_the_embedder_only_for_a_semantic_assertion(
    tmp_path, assertion, needs
):
    path = tmp_path / "eval.yaml"
    path.write_text(CONFIG.format(assertion=assertion), encoding="utf-8")
    config = load_config(path)
    assert not config.needs_index
    assert config.needs_embedder is needs
