"""The only modules that hold SQL. Everything else calls these functions."""
