"""task: a performance-based exam item (quizzes/tasks/README.md). Response: the candidate's
work in progress, `{"files": {path: text}}` with one entry per editable file they changed.

A task is not a bank question: it lives in a folder under quizzes/tasks/ and is drawn into an
exam by the profile's `tasks:`. What an attempt stores is this snapshot of it (the instruction,
the editable paths, the criteria), so a review reads the task as it was drawn. It is graded by
its check at submit or expiry (`triops.tasks.grader`, called by `triops.quiz.exam`), on the
saved files, never by `score` here: a response alone holds no verdict."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from triops.quiz.types.base import Grade, InvalidResponse, QuestionBase, Strict

MAX_FILE_CHARS = 200_000


class TaskCriterion(Strict):
    id: str
    weight: int = Field(ge=1, le=100)
    description: str


class Task(QuestionBase):
    type: Literal["task"]
    # `track/id` of the task folder under quizzes/tasks/.
    task: str = Field(pattern=r"^[a-z]+/[a-z0-9]+(?:-[a-z0-9]+)*$")
    minutes: int = Field(ge=1)
    editable: list[str] = Field(min_length=1)
    run_kind: str = "workflow"
    criteria: list[TaskCriterion] = Field(min_length=1)
    # A digest of task.yaml, check.py and starter/ when drawn (triops.tasks.spec.Task.fingerprint).
    fingerprint: str = ""

    @classmethod
    def from_task(cls, task, fingerprint: str = "") -> Task:
        """The snapshot of a loaded `triops.tasks.spec.Task`."""
        s = task.spec
        return cls(
            type="task",
            id=s.id,
            title=s.title,
            domain=s.domain,
            stem=s.instruction,
            task=s.key,
            minutes=s.minutes,
            editable=list(s.editable),
            run_kind=s.run.kind,
            criteria=[
                TaskCriterion(id=c.id, weight=c.weight, description=c.description)
                for c in s.criteria
            ],
            fingerprint=fingerprint,
            exam_only=True,
        )

    def files(self, response: Any) -> dict[str, str]:
        """The saved files of a response (None: nothing saved yet)."""
        if response is None:
            return {}
        self.check(response)
        return dict(response["files"])

    def check(self, response: Any) -> None:
        if not isinstance(response, dict) or set(response) != {"files"}:
            raise InvalidResponse('a task\'s answer is {"files": {path: text}}')
        files = response["files"]
        if not isinstance(files, dict):
            raise InvalidResponse("a task's files are a mapping of paths to text")
        for rel, text in files.items():
            if rel not in self.editable:
                raise InvalidResponse(f"{rel} is not an editable file of this task")
            if not isinstance(text, str):
                raise InvalidResponse(f"{rel}: a file's content is text")
            if len(text) > MAX_FILE_CHARS:
                raise InvalidResponse(f"{rel} is larger than {MAX_FILE_CHARS // 1000}k characters")

    def score(self, response: Any, *, embedder=None, multiple_response: str = "partial") -> Grade:
        # Only the task's check grades it, at submit (triops.quiz.exam): a response holds no
        # verdict, and nothing here runs the candidate's files.
        return Grade(0.0, detail="graded by the task's check at submit")

    def right_answer(self) -> Any:
        return None

    def describe(self, response: Any) -> str:
        changed = sorted(self.files(response))
        if not changed:
            return "no file changed"
        return "changed " + ", ".join(changed)

    def search_lines(self) -> list[str]:
        return [c.description for c in self.criteria]
