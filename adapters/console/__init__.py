"""The console adapter: every flow in a terminal, for trying huddlebot out and for tests."""
