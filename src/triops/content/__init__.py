"""The course as files: lessons, modules, tracks and structured knowledge, and their validation."""
