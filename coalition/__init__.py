"""The coalition platform: configuration, engines supervision and the command line."""
