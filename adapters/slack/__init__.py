"""The Slack adapter: Bolt (HTTP at /slack/events, or Socket Mode), Block Kit rendering, a Slack Messenger.

Every slack_bolt / slack_sdk import of huddlebot lives in this package.
"""
