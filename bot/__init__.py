"""huddlebot's channel-agnostic core: commands in, views and outbox rows out."""
