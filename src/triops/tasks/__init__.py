"""Performance-based exam items: task folders under quizzes/tasks/ (quizzes/tasks/README.md)."""
