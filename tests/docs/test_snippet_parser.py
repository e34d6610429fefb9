"""What tests/docs/snippets.py takes from Markdown: which blocks run, with which markers."""

from __future__ import annotations

from tests.docs.snippets import Snippet, parse

TEXT = """# A guide

```sh
curl -s "$API/events"
```

```json
{"data": []}
```

<!-- snippet: skip (starts a server) -->
```bash
make run
```

Some prose.

<!-- snippet: expect-error -->
```shell
curl -s "$API/events?sort=foo"
```

1. A list item with a block:

   ```python
   import os
   print(os.environ["API"])
   ```

```py
print("py too")
```

```text
$ not run
```

| family | example |
|---|---|
| events | `curl -sg "$API/events"` |
| inline, not a command | `make test` |
"""


def test_runnable_blocks_are_taken_with_their_line_language_and_markers() -> None:
    snippets, problems = parse("docs/guide.md", TEXT)

    assert problems == []
    assert snippets == [
        Snippet("docs/guide.md", 3, "shell", 'curl -s "$API/events"\n'),
        Snippet("docs/guide.md", 12, "shell", "make run\n", skip="starts a server"),
        Snippet(
            "docs/guide.md", 19, "shell", 'curl -s "$API/events?sort=foo"\n', expect_error=True
        ),
        Snippet("docs/guide.md", 25, "python", 'import os\nprint(os.environ["API"])\n'),
        Snippet("docs/guide.md", 30, "python", 'print("py too")\n'),
        Snippet("docs/guide.md", 40, "shell", 'curl -sg "$API/events"\n'),
    ]
    assert snippets[0].id == "docs/guide.md:3"


def test_a_mistyped_or_misplaced_marker_is_a_problem_not_a_silent_run_or_skip() -> None:
    text = """<!-- snippet: skip -->
```sh
make run
```

<!-- snippet: expect-eror -->
```sh
curl -s "$API/events?sort=foo"
```

<!-- snippet: skip (an output sample) -->
```json
{}
```

<!-- snippet: skip (nothing follows) -->

Prose.

```console
$ curl -s "$API/events"
```
"""
    snippets, problems = parse("README.md", text)

    assert [str(problem) for problem in problems] == [
        "README.md:1: unknown snippet marker 'skip': write `skip (reason)` or `expect-error`",
        "README.md:6: unknown snippet marker 'expect-eror': write `skip (reason)` or "
        "`expect-error`",
        "README.md:11: a snippet marker on a `json` block, which never runs",
        "README.md:16: a snippet marker must be followed by a fence",
        "README.md:20: `console` blocks are not used: fence the commands as `sh` and their "
        "output as `text`, so that the commands run",
    ]
    assert snippets == []


def test_a_fence_inside_a_block_does_not_end_it_early() -> None:
    text = """````sh
cat <<'EOF'
```
EOF
````
"""
    snippets, problems = parse("docs/x.md", text)

    assert problems == []
    assert snippets == [Snippet("docs/x.md", 1, "shell", "cat <<'EOF'\n```\nEOF\n")]
